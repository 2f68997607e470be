import { closeSync, constants, fstatSync, openSync, readFileSync } from "node:fs";

/**
 * Read-only and non-blocking where the platform has `O_NONBLOCK` (not Windows): opening a FIFO
 * for reading otherwise waits for a writer, forever. Reads of a regular file ignore the flag.
 */
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/** Code of the error `openRegularFile` throws for a name that is not a regular file. */
export const NOT_A_FILE = "not-a-file";

/**
 * Opens `path` for reading only if what it names (a symlink followed) is a regular file, and
 * returns the descriptor (the caller closes it). The check is on the file opened (`fstat`), not
 * on a `stat` before it: a name that is a FIFO, a device (`/dev/zero`, a terminal), a socket or a
 * directory, or one replaced by such between a listing and the open, never hangs the reader (a
 * FIFO's open and read wait for a writer; `/dev/zero` never ends) and is never read.
 * @throws an `Error` with `code` NOT_A_FILE (`syscall` `open`, `path`) for anything but a regular
 *   file; otherwise what `openSync` throws (`ENOENT`, `EACCES`, `ELOOP`, `ENXIO` for a socket…).
 */
export function openRegularFile(path: string): number {
  const fd = openSync(path, OPEN_FLAGS);
  let regular = false;
  try {
    regular = fstatSync(fd).isFile();
  } finally {
    if (!regular) closeSync(fd);
  }
  if (!regular) {
    throw Object.assign(new Error(`not a regular file (a FIFO, device, socket or directory): ${path}`), {
      code: NOT_A_FILE,
      syscall: "open",
      path,
    });
  }
  return fd;
}

/**
 * The whole content of the regular file `path` (see `openRegularFile`).
 * @throws as `openRegularFile`, or an I/O error from reading it.
 */
export function readRegularFile(path: string): Buffer {
  const fd = openRegularFile(path);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
