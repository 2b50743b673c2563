import { send } from '../../http/reply.ts';
import type { Route } from '../../http/route.ts';
import { encodePng } from '../../simulator/bridge/png.ts';

/**
 * The demo page's share image (its `imgUrl`) and the browser's favicon: one 64×64 PNG, a white
 * check mark on WeChat green. Without it the demo shared a link to a 404 and every page load logged
 * one for /favicon.ico. Browsers take a PNG at /favicon.ico; so does WeChat's share card.
 */
function shareImage(size = 64): Buffer {
  const rgb = new Uint8Array(size * size * 3);
  const onMark = (x: number, y: number) => {
    // Two strokes of the check mark, 5 px wide: (16,34)→(28,46) and (28,46)→(50,20).
    const near = (ax: number, ay: number, bx: number, by: number) => {
      const t = Math.max(
        0,
        Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)),
      );
      return Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay))) <= 2.5;
    };
    return near(16, 34, 28, 46) || near(28, 46, 50, 20);
  };
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      const [r, g, b] = onMark(x, y) ? [255, 255, 255] : [7, 193, 96];
      rgb[i] = r;
      rgb[i + 1] = g;
      rgb[i + 2] = b;
    }
  }
  return encodePng(size, size, rgb);
}

const IMAGE = shareImage();

/** `GET /favicon.ico` in sandbox mode: the demo's share image and favicon. */
export const shareImageRoute: Route = {
  method: 'GET',
  path: '/favicon.ico',
  cors: false,
  handle: () => send(200, IMAGE, 'image/png', { 'cache-control': 'public, max-age=86400' }),
};
