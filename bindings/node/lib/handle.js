'use strict';
const { Status, WtfperfError } = require('./errors');

// Backstop only: a handle that is garbage-collected without close() is freed
// here. Deterministic release is close() (or `using` with Symbol.dispose).
const registry = new FinalizationRegistry(({ free, ptr }) => {
  try {
    free(ptr);
  } catch {
    // nothing sensible to do in a finalizer
  }
});

/**
 * Base of every class owning a native handle: idempotent close(), a
 * WtfperfError (WTFPERF_ERR_STATE) on use after close, and a
 * FinalizationRegistry entry as a backstop.
 */
class NativeHandle {
  #ptr;
  #free;
  #kind;
  #pins = 0;
  #pendingFree = null;

  constructor(ptr, free, kind) {
    this.#ptr = ptr;
    this.#free = free;
    this.#kind = kind;
    registry.register(this, { free, ptr }, this);
  }

  /** The native pointer; throws if the handle was closed. @internal */
  get _ptr() {
    if (this.#ptr === null) {
      throw new WtfperfError(Status.WTFPERF_ERR_STATE, `${this.#kind} is closed`);
    }
    return this.#ptr;
  }

  /** True once close() was called. */
  get closed() {
    return this.#ptr === null;
  }

  /**
   * Runs `fn(ptr)` with the handle kept alive: a close() from inside `fn`
   * (e.g. from a callback of a native call using the handle) takes effect
   * for JS at once, but the native object is freed only when `fn` returns.
   * @internal
   */
  _pinned(fn) {
    const ptr = this._ptr;
    this.#pins += 1;
    try {
      return fn(ptr);
    } finally {
      this.#pins -= 1;
      if (this.#pins === 0 && this.#pendingFree !== null) {
        const pending = this.#pendingFree;
        this.#pendingFree = null;
        this.#free(pending);
      }
    }
  }

  /** Releases the native object. Calling it again does nothing. */
  close() {
    if (this.#ptr === null) return;
    const ptr = this.#ptr;
    this.#ptr = null;
    registry.unregister(this);
    if (this.#pins > 0) this.#pendingFree = ptr;
    else this.#free(ptr);
  }
}

if (typeof Symbol.dispose === 'symbol') {
  NativeHandle.prototype[Symbol.dispose] = function dispose() {
    this.close();
  };
}

module.exports = { NativeHandle };
