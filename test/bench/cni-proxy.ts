/**
 * @module timestamping socket proxy (part of `npm run bench:cni`; not a test)
 * Sits between the plugin and ipamd's Unix socket and notes, on the bench's own clock (performance.now()), when
 * the plugin connects, when its request line is complete, when ipamd's first reply byte arrives and when the
 * plugin closes. The plugin is timed without instrumenting it: only its socket path changes. One plugin runs at
 * a time, so the proxy keeps one record, which {@link TimingProxy.take} hands over and clears.
 * The extra hop costs tens of microseconds; the headline figures are measured without it.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';

/** performance.now() stamps of one connection; undefined when that moment never came. */
export interface ConnTimes {
  connect: number;
  requestDone?: number;
  replyFirstByte?: number;
  /** The plugin closed its end (it destroys the socket once it has read the reply line). */
  clientClose?: number;
}

export class TimingProxy {
  private server: net.Server | undefined;
  private current: ConnTimes | undefined;
  private count = 0;

  constructor(
    readonly path: string,
    private readonly upstream: string,
  ) {}

  async start(): Promise<void> {
    fs.rmSync(this.path, { force: true });
    this.server = net.createServer((c) => this.onConnection(c));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.path, () => resolve());
    });
  }

  /** The stamps of the connection(s) since the last call; throws if the plugin made more than one. */
  take(): ConnTimes | undefined {
    const t = this.current;
    if (this.count > 1) throw new Error(`plugin made ${this.count} connections; the breakdown assumes one`);
    this.current = undefined;
    this.count = 0;
    return t;
  }

  private onConnection(c: net.Socket): void {
    const t: ConnTimes = { connect: performance.now() };
    this.current = t;
    this.count++;
    const up = net.createConnection(this.upstream);
    c.on('data', (d: Buffer) => {
      if (t.requestDone === undefined && d.includes(10)) t.requestDone = performance.now();
      up.write(d);
    });
    up.on('data', (d: Buffer) => {
      t.replyFirstByte ??= performance.now();
      c.write(d);
    });
    c.on('close', () => {
      t.clientClose = performance.now();
      up.destroy();
    });
    up.on('end', () => c.end());
    up.on('error', () => c.destroy());
    c.on('error', () => up.destroy());
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    fs.rmSync(this.path, { force: true });
  }
}
