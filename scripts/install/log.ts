/** Install-time logging: plain prefixed lines, readable in npm's output. */
export const log = {
  info: (msg: string) => console.log(`[persecond install] ${msg}`),
  warn: (msg: string) => console.warn(`[persecond install] warning: ${msg}`),
};
