import { join } from 'node:path';

/** A simulated component as the simulator and the service both take it. */
export interface TestComponent {
  componentAppId: string;
  secret: string;
  token: string;
  encodingAESKey: string;
}

/** The environment of a `wxkit serve` that is this component's platform, against the simulator at `simUrl`. */
export function platformServeEnv(c: TestComponent, simUrl: string, dir: string): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    WX_API_BASE: simUrl,
    WX_OPEN_BASE: simUrl,
    WXKIT_STORE: `file:${join(dir, 'store')}`,
    WXKIT_MEDIA_STORE: `file:${join(dir, 'media')}`,
    WX_COMPONENT_APP_ID: c.componentAppId,
    WX_COMPONENT_SECRET: c.secret,
    WX_COMPONENT_TOKEN: c.token,
    WX_COMPONENT_AES_KEY: c.encodingAESKey,
    WXKIT_LOG: 'all',
  };
}
