import { describe, expect, it } from "vitest";
import { USER_MARK } from "../../src/meter/parse.js";
import { findUserMark } from "../../src/meter/sources/jsonl-reader.js";

// The reader finds user-message lines by searching the mark's rare tail and checking its head:
// it must give exactly the positions a plain search for the whole mark gives.
describe("findUserMark", () => {
  it("finds the same positions as indexOf(USER_MARK), whatever surrounds the mark", () => {
    const pieces = [
      '"role":"user"',
      ':"user"',
      '"role" :"user"',
      'role":"user"',
      '"rolex":"user"',
      '"role":"users"',
      '{"type":"message","message":{"role":"assistant"}}\n',
      '"',
      ":",
      "user",
      "\n",
      "x",
    ];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let round = 0; round < 300; round++) {
      let text = "";
      const parts = 1 + rnd(12);
      for (let i = 0; i < parts; i++) text += pieces[rnd(pieces.length)];
      const data = Buffer.from(text);
      for (let from = 0; from <= data.length; from++)
        expect(findUserMark(data, from), `${JSON.stringify(text)} from ${from}`).toBe(
          data.indexOf(USER_MARK, from),
        );
    }
  });
});
