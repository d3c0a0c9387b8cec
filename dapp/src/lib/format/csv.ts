// CSV export (RFC 4180): amounts stay exact planck strings; fields are quoted when needed.

function field(value: string | number | bigint | null | undefined): string {
  const text = value === null || value === undefined ? '' : String(value);
  // Leading =,+,-,@ would be run as formulas by spreadsheet apps.
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** Renders rows as CSV text with a header line and CRLF line ends. */
export function toCsv(
  header: readonly string[],
  rows: readonly (readonly (string | number | bigint | null | undefined)[])[],
): string {
  const lines = [header, ...rows].map((r) => r.map(field).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
