// idempotency.js — one Idempotency-Key per submission of a form.
//
// A submission keeps its key until it succeeds, so sending the same thing
// again after a failure whose outcome the console cannot know (the network
// dropped the answer, a 503, a timeout) reuses it: the server then answers
// with what it stored the first time instead of posting twice.  Changing the
// form makes a new submission with a new key (the server would refuse the old
// key with a different body).  The server stores only successful answers, so
// reusing a key after a refusal (409, 422) simply tries again.

/** A fresh random key (crypto.getRandomValues also works outside secure contexts). */
export function newKey(prefix = 'web') {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return `${prefix}-${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * Tracks the submission in progress: keyFor(body) returns its key (the same
 * one while the body is unchanged and nothing succeeded), done() ends it.
 */
export function submission(prefix = 'web') {
  let pending = null;
  return {
    keyFor(body) {
      const text = JSON.stringify(body);
      if (!pending || pending.text !== text) pending = { text, key: newKey(prefix) };
      return pending.key;
    },
    done() {
      pending = null;
    },
    get key() {
      return pending ? pending.key : null;
    },
  };
}
