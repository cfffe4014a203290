/**
 * How a number reads on a page when the snippet has no original to copy the format of: North
 * American numbers as `(555) 123-4567`, others as E.164.
 *
 * @example displayNumber('+15551234567') // '(555) 123-4567'
 */
export function displayNumber(e164: string): string {
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}
