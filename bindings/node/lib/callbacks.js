'use strict';
// Registered koffi callbacks for the duration of one native call.
//
// JS exceptions must never unwind through the library's frames: every
// callback is wrapped so an exception is caught and kept, the callback returns
// its "stop" value, every later callback of the same call does nothing (and
// asks to stop again), and the caller re-throws the kept exception once the
// native call has returned.

const { koffi } = require('./native');

class Trampolines {
  #registered = [];
  #failed = false;
  #error = undefined;

  /** True once a callback of this call threw. */
  get failed() {
    return this.#failed;
  }

  /**
   * Registers `fn` as a C function pointer of type `proto`. When `fn` throws
   * (or a previous callback threw), the trampoline returns `stop`.
   */
  register(fn, proto, stop = undefined) {
    const wrapped = (...args) => {
      if (this.#failed) return stop;
      try {
        return fn(...args);
      } catch (e) {
        this.fail(e);
        return stop;
      }
    };
    const ptr = koffi.register(wrapped, koffi.pointer(proto));
    this.#registered.push(ptr);
    return ptr;
  }

  /** Records `error` as the one to re-throw (the first one wins). */
  fail(error) {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = error;
  }

  /** Throws the exception a callback raised, if any. */
  rethrow() {
    if (this.#failed) throw this.#error;
  }

  /** Unregisters every callback (call in `finally`, after the native call returned). */
  close() {
    for (const ptr of this.#registered.splice(0)) koffi.unregister(ptr);
  }
}

module.exports = { Trampolines };
