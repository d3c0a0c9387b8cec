import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSfuConfig } from '../src/index.ts';

describe('loadSfuConfig', () => {
  it('defaults to one worker per core on 127.0.0.1', () => {
    const c = loadSfuConfig({});
    expect(c.numWorkers).toBe(availableParallelism());
    expect(c.listenIp).toBe('127.0.0.1');
    expect(c.announcedIp).toBeUndefined();
    expect(c.rtcMinPort).toBeLessThan(c.rtcMaxPort);
    expect(c.hlsDir).toBe(resolve('.data/hls'));
    // The default HLS ladder: the source up to 720p and 360p.
    expect(c.hlsLadder.map((r) => `${r.name}:${r.maxHeight}:${r.videoKbps}`).join(',')).toBe(
      'high:720:2500,low:360:600',
    );
    expect(c.logLevel).toBe('info');
  });

  it('reads every variable and treats empty ones as unset', () => {
    const c = loadSfuConfig({
      SFU_NUM_WORKERS: '3',
      SFU_LISTEN_IP: '0.0.0.0',
      ANNOUNCED_IP: 'media.example.org',
      SFU_RTC_MIN_PORT: '41000',
      SFU_RTC_MAX_PORT: '41999',
      SFU_CONSUMERS_PER_WORKER: '250',
      HLS_DIR: '/tmp/hls-x',
      HLS_LINGER_SECONDS: '2.5',
      LOG_LEVEL: '',
    });
    expect(c).toMatchObject({
      numWorkers: 3,
      listenIp: '0.0.0.0',
      announcedIp: 'media.example.org',
      rtcMinPort: 41000,
      rtcMaxPort: 41999,
      consumersPerWorker: 250,
      hlsDir: '/tmp/hls-x',
      hlsLingerMs: 2500,
      logLevel: 'info',
    });
  });

  it('takes a thumbnail every 10 s, 180 px high, under HLS_DIR/.thumbnails unless told otherwise; 0 turns it off', () => {
    expect(loadSfuConfig({ HLS_DIR: '/tmp/hls-x' })).toMatchObject({
      thumbnailDir: '/tmp/hls-x/.thumbnails',
      thumbnailHeight: 180,
      thumbnailIntervalMs: 10_000,
    });
    expect(
      loadSfuConfig({ THUMBNAIL_DIR: '/tmp/thumbs', THUMBNAIL_HEIGHT: '120', THUMBNAIL_INTERVAL_SECONDS: '0' }),
    ).toMatchObject({ thumbnailDir: '/tmp/thumbs', thumbnailHeight: 120, thumbnailIntervalMs: 0 });
    expect(() => loadSfuConfig({ THUMBNAIL_INTERVAL_SECONDS: '-1' })).toThrow();
    expect(() => loadSfuConfig({ THUMBNAIL_HEIGHT: '8' })).toThrow();
  });

  it('records by default under HLS_DIR/.recordings, 30 days and 20 GB; RECORDING=off and the limits are read', () => {
    expect(loadSfuConfig({ HLS_DIR: '/tmp/hls-x' })).toMatchObject({
      recording: true,
      recordingDir: '/tmp/hls-x/.recordings',
      recordingMaxBytes: 20_000_000_000,
      recordingRetentionMs: 30 * 86_400_000,
    });
    expect(
      loadSfuConfig({
        RECORDING: 'off',
        RECORDING_DIR: '/tmp/recs',
        RECORDING_MAX_BYTES: '1000',
        RECORDING_RETENTION_DAYS: '0.5',
      }),
    ).toMatchObject({
      recording: false,
      recordingDir: '/tmp/recs',
      recordingMaxBytes: 1000,
      recordingRetentionMs: 43_200_000,
    });
    expect(() => loadSfuConfig({ RECORDING: 'yes' })).toThrow();
    expect(() => loadSfuConfig({ RECORDING_MAX_BYTES: '-1' })).toThrow();
  });

  it('rejects unusable values', () => {
    expect(() => loadSfuConfig({ SFU_NUM_WORKERS: '0' })).toThrow();
    expect(() => loadSfuConfig({ SFU_LISTEN_IP: 'localhost' })).toThrow();
    expect(() => loadSfuConfig({ SFU_RTC_MIN_PORT: '45000', SFU_RTC_MAX_PORT: '44000' })).toThrow();
    expect(() => loadSfuConfig({ LOG_LEVEL: 'loud' })).toThrow();
  });
});
