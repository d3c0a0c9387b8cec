// What a page shows in an <img>, read back from its pixels.
import type { Page } from 'playwright-core';

/**
 * `<width>x<height>:<FNV-1a of its RGBA pixels>` of the picture the <img> at `selector` shows (drawn to a canvas: a
 * cross-origin picture needs `crossorigin` and CORS), or '' while there is no such <img> or it shows nothing.
 */
export function pictureDigest(page: Page, selector: string): Promise<string> {
  // A page script as text: this project's Node typings have no DOM.
  return page.evaluate<string>(`(() => {
    const image = document.querySelector(${JSON.stringify(selector)});
    if (!image || !image.complete || image.naturalWidth === 0) return '';
    const canvas = document.createElement('canvas');
    canvas.width = image.naturalWidth;
    canvas.height = image.naturalHeight;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(image, 0, 0);
    const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
    let hash = 2166136261;
    for (const byte of data) hash = Math.imul(hash ^ byte, 16777619) >>> 0;
    return canvas.width + 'x' + canvas.height + ':' + hash.toString(16);
  })()`);
}
