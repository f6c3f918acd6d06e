// The arrows between heartbeat's folders, checked by `npm run deps` (part of `npm test`): an import
// that breaks one fails the build. README's "Layout" says what each folder holds and why.
//
// Inside src/, each folder may import only the folders listed for it (and itself). The order is
// the design: the process wires everything; the admin port reads the HTTP edge, the streams, the
// pings and the store; the HTTP edge asks who may watch whom (watch/) and drives the streams and
// pings over the store; watch/ re-checks open streams and shares the store's cause log; the
// streams and the ping actor use the store; the store knows none of them. machines/ is below all of them and
// imports nothing of the repo.
const MAY_IMPORT = {
  'src/process': ['src/admin', 'src/http', 'src/watch', 'src/streams', 'src/pings', 'src/store', 'machines'],
  'src/admin': ['src/http', 'src/watch', 'src/streams', 'src/pings', 'src/store', 'machines'],
  'src/http': ['src/watch', 'src/streams', 'src/pings', 'src/store', 'machines'],
  'src/watch': ['src/streams', 'src/store', 'machines'],
  'src/streams': ['src/store', 'machines'],
  'src/pings': ['src/store', 'machines'],
  'src/store': [],
  machines: [],
};

/**
 * Two narrow exceptions, both for types only (erased at build, so no code runs across them):
 * every folder is handed the settings and the logger the process made, so it may name their
 * types; and the stream sink writes to a uWebSockets.js response, whose type the edge's binding
 * (src/http/uws.ts) re-exports.
 */
const TYPES_FROM_PROCESS = '^src/process/(config|logger)\\.ts$';
const UWS_BINDING = '^src/http/uws\\.ts$';

const escape = (folder) => folder.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const layerRules = Object.entries(MAY_IMPORT).map(([folder, allowed]) => ({
  name: `${folder.replace(/^src\//, '')}-imports-only-${allowed.length ? allowed.map((f) => f.replace(/^src\//, '')).join('-') : 'itself'}`,
  severity: 'error',
  comment: `${folder}/ may import only ${allowed.length ? allowed.map((f) => `${f}/`).join(', ') : 'itself'} (.dependency-cruiser.cjs, MAY_IMPORT)`,
  from: { path: `^${escape(folder)}/` },
  to: {
    path: '^(src|machines)/',
    pathNot: [
      `^${escape(folder)}/`,
      ...allowed.map((f) => `^${escape(f)}/`),
      ...(folder === 'src/process' || folder === 'machines' ? [] : [TYPES_FROM_PROCESS]),
      ...(folder === 'src/streams' ? [UWS_BINDING] : []),
    ],
  },
}));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'process-settings-and-logger-as-types-only',
      severity: 'error',
      comment: 'Below src/process/ a folder may name the Config and Logger types it is handed, never run process code.',
      from: { path: '^src/(admin|http|watch|streams|pings|store)/' },
      to: { path: TYPES_FROM_PROCESS, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'streams-use-uws-types-only',
      severity: 'error',
      comment: "The stream sink names uWebSockets.js's response type; running the binding is the edge's (src/http/).",
      from: { path: '^src/streams/' },
      to: { path: UWS_BINDING, dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-folders-outside-the-design',
      severity: 'error',
      comment: "Every file of src/ lives in one of MAY_IMPORT's folders (README's Layout lists them).",
      from: { path: '^src/' },
      to: { path: '^src/', pathNot: `^(${Object.keys(MAY_IMPORT).map(escape).join('|')})/` },
    },
    {
      name: 'every-import-resolves',
      severity: 'error',
      comment: 'An import the cruiser cannot resolve would escape every rule above.',
      from: {},
      to: { couldNotResolve: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles: each file can be read (and tested) after the files it imports.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'nothing-imports-bench-or-test',
      severity: 'error',
      comment: 'The service, its machines, its tooling and its deploy files never depend on the benchmarks or the tests.',
      from: { path: '^(src|machines|scripts|deploy)/' },
      to: { path: '^(bench|test)/' },
    },
    {
      name: 'the-service-does-not-import-tooling',
      severity: 'error',
      comment: 'scripts/ holds tooling that is not the service (the diagrams CLI, the XState patch); the service never imports it.',
      from: { path: '^(src|machines)/' },
      to: { path: '^scripts/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports are dependencies too (the exceptions above are about them).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
