/**
 * @module fake API server: test PKI
 * A cluster CA and an API server certificate made at test start, with
 * node:crypto only: Node can sign but not build X.509, so the few DER
 * structures a certificate needs are written here (RFC 5280). The layout is a
 * real cluster's: a self-signed CA (what the service account's `ca.crt`
 * holds) signs a serving certificate whose subjectAltNames name the address
 * clients dial (kubeadm puts the Service IP, 127.0.0.1 and the host names
 * there), so the client verifies the chain and the host name exactly as it
 * does against kube-apiserver; nothing is skipped.
 */
import { createHash, generateKeyPairSync, randomBytes, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { isIPv4 } from 'node:net';

export interface TestPki {
  /** PEM of the cluster CA (the service account's ca.crt). */
  ca: string;
  /** PEM of the serving certificate and its key. */
  cert: string;
  key: string;
}

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let x = n; x > 0; x >>= 8) bytes.unshift(x & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
const seq = (...parts: Buffer[]) => tlv(0x30, ...parts);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, 'utf8'));
const TRUE = Buffer.from([0x01, 0x01, 0xff]);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a! + b!];
  for (const v of rest) {
    const group = [v & 0x7f];
    for (let x = v >> 7; x > 0; x >>= 7) group.unshift((x & 0x7f) | 0x80);
    out.push(...group);
  }
  return tlv(0x06, Buffer.from(out));
}

/** A positive INTEGER from unsigned big-endian bytes (a leading 0 when the top bit is set). */
const uint = (b: Buffer) => tlv(0x02, b[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);

/** UTCTime, valid for the years 1950–2049 (RFC 5280 §4.1.2.5.1). */
function utcTime(d: Date): Buffer {
  const iso = d.toISOString();
  return tlv(
    0x17,
    Buffer.from(
      `${iso.slice(2, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}` +
        `${iso.slice(14, 16)}${iso.slice(17, 19)}Z`,
    ),
  );
}

const OID = {
  commonName: '2.5.4.3',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  subjectKeyId: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyId: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
};

const name = (cn: string) => seq(tlv(0x31, seq(oid(OID.commonName), utf8(cn))));
const ext = (id: string, value: Buffer, critical = false) => seq(oid(id), ...(critical ? [TRUE] : []), octets(value));

/** The key identifier of RFC 5280 §4.2.1.2 (1): SHA-1 of the public key's bits. */
function keyId(pub: KeyObject): Buffer {
  const jwk = pub.export({ format: 'jwk' });
  const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
  return createHash('sha1').update(point).digest();
}

interface CertSpec {
  subject: string;
  issuer: string;
  subjectKey: KeyObject;
  issuerKey: { privateKey: KeyObject; publicKey: KeyObject };
  ca: boolean;
  hosts?: string[];
}

function certificate(s: CertSpec): string {
  const now = Date.now();
  const serial = randomBytes(16);
  serial[0]! &= 0x7f;
  const alg = seq(oid(OID.ecdsaWithSha256));
  const extensions = [
    // keyCertSign + cRLSign + digitalSignature for the CA; digitalSignature + keyEncipherment for the server.
    ext(OID.basicConstraints, s.ca ? seq(TRUE) : seq(), true),
    ext(OID.keyUsage, s.ca ? bits(Buffer.from([0x86]), 1) : bits(Buffer.from([0xa0]), 5), true),
    ext(OID.subjectKeyId, octets(keyId(s.subjectKey))),
    ...(s.ca ? [] : [ext(OID.authorityKeyId, seq(tlv(0x80, keyId(s.issuerKey.publicKey))))]),
    ...(s.ca ? [] : [ext(OID.extKeyUsage, seq(oid(OID.serverAuth)))]),
  ];
  if (s.hosts?.length) {
    const names = s.hosts.map((h) =>
      isIPv4(h) ? tlv(0x87, Buffer.from(h.split('.').map(Number))) : tlv(0x82, Buffer.from(h, 'ascii')),
    );
    extensions.push(ext(OID.subjectAltName, seq(...names)));
  }
  const tbs = seq(
    tlv(0xa0, uint(Buffer.from([2]))), // v3
    uint(serial),
    alg,
    name(s.issuer),
    seq(utcTime(new Date(now - 3_600_000)), utcTime(new Date(now + 86_400_000))),
    name(s.subject),
    s.subjectKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const signature = sign('sha256', tbs, { key: s.issuerKey.privateKey, dsaEncoding: 'der' });
  const der = seq(tbs, alg, bits(signature));
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n').trimEnd();
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** A fresh CA and a serving certificate for `hosts` (IPv4 addresses or DNS names), P-256 keys. */
export function makeTestPki(hosts: string[] = ['127.0.0.1', 'localhost']): TestPki {
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serverKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = 'fake-cluster-ca';
  const subjectKey = caKeys.publicKey;
  const ca = certificate({ subject: caName, issuer: caName, subjectKey, issuerKey: caKeys, ca: true });
  const cert = certificate({
    subject: 'kube-apiserver',
    issuer: caName,
    subjectKey: serverKeys.publicKey,
    issuerKey: caKeys,
    ca: false,
    hosts,
  });
  // A malformed structure would only show as a TLS handshake failure much later: check the chain here.
  if (!new X509Certificate(cert).verify(caKeys.publicKey)) throw new Error('test PKI: the certificate does not verify');
  return { ca, cert, key: serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string };
}
