// Control characters (Unicode category Cc: C0, DEL and C1), tested by code unit: a /\p{Cc}/u pattern is ES2018
// syntax, and the client is bundled into ES2017 web resources (a \u0000-style range trips the linter's
// no-control-regex instead).

/** True when the text holds a control character (U+0000-U+001F, U+007F-U+009F). */
export function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit <= 0x1f || (unit >= 0x7f && unit <= 0x9f)) return true;
  }
  return false;
}
