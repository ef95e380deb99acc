// mount(2) counts bytes, not UTF-16 code units: a path with non-ASCII names is longer than `.length` says.

const ASCII = /^[\x00-\x7f]*$/;

/** Length of `s` encoded as UTF-8, in bytes (lone surrogates count as U+FFFD, 3 bytes, as TextEncoder does). */
export function byteLength(s: string): number {
  if (ASCII.test(s)) return s.length; // the common case, and much faster than the loop
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}
