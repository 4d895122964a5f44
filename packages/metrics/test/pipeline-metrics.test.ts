import { describe, expect, it } from '@jest/globals';
import { PipelineMetrics, queueKind, readMetricsConfig, serveMetrics } from '../src/index.js';

describe('PipelineMetrics', () => {
  it('counts failures, S3 bytes and errors, and sidecar requests in its own registry', async () => {
    const metrics = new PipelineMetrics({ processMetrics: false, defaultLabels: { app: 'gpu', host: 'h1' } });
    metrics.countFailure('convert', 'decode_error');
    metrics.countFailure('convert', 'decode_error');
    metrics.storage.bytes('up', 1000);
    metrics.storage.bytes('down', 24);
    metrics.storage.error('put');
    metrics.observeSidecarRequest(1500, 8);
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      'audio_failures_total{stage="convert",reason="decode_error",app="gpu",host="h1"} 2',
    );
    expect(text).toContain('audio_s3_bytes_total{direction="up",app="gpu",host="h1"} 1000');
    expect(text).toContain('audio_s3_bytes_total{direction="down",app="gpu",host="h1"} 24');
    expect(text).toContain('audio_s3_errors_total{operation="put",app="gpu",host="h1"} 1');
    expect(text).toContain('audio_sidecar_request_seconds_bucket{le="2.5",app="gpu",host="h1"} 1');
    expect(text).toContain('audio_sidecar_request_seconds_bucket{le="1",app="gpu",host="h1"} 0');
    expect(text).toContain('audio_sidecar_request_items_sum{app="gpu",host="h1"} 8');
    expect(text).not.toContain('process_cpu'); // processMetrics: false
  });

  it('keeps two instances apart (no global registry)', async () => {
    const a = new PipelineMetrics({ processMetrics: false });
    const b = new PipelineMetrics({ processMetrics: false });
    a.countFailure('unpack', 'not_mp3');
    expect(await b.registry.metrics()).not.toContain('reason="not_mp3"');
  });

  it('labels queues by kind, without the host id', () => {
    expect(queueKind('unpack')).toBe('unpack');
    expect(queueKind('transcribe-gpu-1')).toBe('transcribe');
    expect(queueKind('finalize-gpu-07')).toBe('finalize');
    expect(queueKind('something-else')).toBe('other');
  });
});

describe('serveMetrics', () => {
  it('serves GET /metrics in the Prometheus text format and 404 elsewhere', async () => {
    const metrics = new PipelineMetrics({ processMetrics: false });
    metrics.countFailure('transcribe', 'sidecar_unavailable');
    const server = await serveMetrics(metrics.registry, 0, { host: '127.0.0.1' });
    try {
      const response = await fetch(server.url);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toContain('text/plain');
      expect(await response.text()).toContain(
        'audio_failures_total{stage="transcribe",reason="sidecar_unavailable"} 1',
      );
      const other = await fetch(server.url.replace('/metrics', '/'));
      expect(other.status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('readMetricsConfig', () => {
  it('is off without METRICS_PORT and names the variable when it is bad', () => {
    expect(readMetricsConfig({})).toEqual({ port: null, host: '0.0.0.0' });
    expect(readMetricsConfig({ METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5' })).toEqual({
      port: 9464,
      host: '10.0.0.5',
    });
    expect(() => readMetricsConfig({ METRICS_PORT: 'abc' })).toThrow(/METRICS_PORT/);
  });
});
