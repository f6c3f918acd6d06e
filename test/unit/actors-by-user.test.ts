// ActorsByUser: a lone actor is stored as itself, a Set only from the second one on.
import test from 'ava';
import { ActorsByUser } from '../../src/streams/actors-by-user.js';

const a = { name: 'a' };
const b = { name: 'b' };
const seen = (index: ActorsByUser<{ name: string }>, user: string) => {
  const names: string[] = [];
  const count = index.forEach(user, (w) => names.push(w.name));
  return { count, names };
};

test('the first actor of a user is reported as first, later ones are not', (t) => {
  const index = new ActorsByUser<{ name: string }>();
  t.true(index.add('u', a));
  t.false(index.add('u', b));
  t.false(index.add('u', b), 'adding the same actor twice keeps one');
  t.deepEqual(seen(index, 'u'), { count: 2, names: ['a', 'b'] });
  t.is(index.size, 1);
});

test('removing reports absent, removed and last, and the user disappears with its last actor', (t) => {
  const index = new ActorsByUser<{ name: string }>();
  index.add('u', a);
  index.add('u', b);
  t.is(index.remove('u', { name: 'x' }), 'absent');
  t.is(index.remove('u', a), 'removed');
  t.deepEqual(seen(index, 'u'), { count: 1, names: ['b'] });
  t.is(index.remove('u', a), 'absent');
  t.is(index.remove('u', b), 'last');
  t.false(index.has('u'));
  t.deepEqual(seen(index, 'u'), { count: 0, names: [] });
  t.deepEqual([...index.users()], []);
});

test('a lone actor is removed as last, and one that never joined is absent', (t) => {
  const index = new ActorsByUser<{ name: string }>();
  t.is(index.remove('u', a), 'absent');
  index.add('u', a);
  t.is(index.remove('u', b), 'absent');
  t.is(index.remove('u', a), 'last');
  t.is(index.size, 0);
});
