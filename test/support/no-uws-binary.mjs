// Preloaded (`--import`) to stand for a Node or platform uWebSockets.js has no binary for (Node 24
// here, Alpine's musl): loading any uws_*.node fails the way a missing or incompatible one does.
const dlopen = process.dlopen.bind(process);
process.dlopen = (module, filename, ...rest) => {
  if (/uws_[^/]*\.node$/.test(filename)) throw new Error(`${filename}: cannot open shared object file: No such file or directory`);
  return dlopen(module, filename, ...rest);
};
