import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Networks a webhook must not reach unless the operator allows them (server-side request forgery:
 * an endpoint pointed at the box's own Asterisk, its metadata service, the office LAN). IANA's
 * special-purpose registries, less the globally reachable entries.
 */
const NOT_PUBLIC_V4: ReadonlyArray<[string, number]> = [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
];
const NOT_PUBLIC_V6: ReadonlyArray<[string, number]> = [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['2002::', 16], ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
];

const notPublic = new BlockList();
for (const [net, prefix] of NOT_PUBLIC_V4) notPublic.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of NOT_PUBLIC_V6) notPublic.addSubnet(net, prefix, 'ipv6');

/** The operator's exceptions (WEBHOOK_ALLOWED_NETWORKS), as a list that answers `check`. */
export function allowedNetworkList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net = '', prefix = ''] = cidr.split('/');
    list.addSubnet(net, Number(prefix), isIP(net) === 6 ? 'ipv6' : 'ipv4');
  }
  return list;
}

/** An IPv4 address written as IPv6 (::ffff:10.0.0.1) is judged as the IPv4 address it is. */
function unmapped(address: string): { address: string; family: 4 | 6 } {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped?.[1]) return { address: mapped[1], family: 4 };
  return { address, family: isIP(address) === 4 ? 4 : 6 };
}

/** Whether a delivery may go to this address: public, or in a network the operator allowed. */
export function mayDeliverTo(address: string, allowed: BlockList): boolean {
  const a = unmapped(address);
  const type = a.family === 4 ? 'ipv4' : 'ipv6';
  return !notPublic.check(a.address, type) || allowed.check(a.address, type);
}

export type AddressCheck = { ok: true; address: string; family: 4 | 6 } | { ok: false; reason: string };

/**
 * Resolves the URL's host and checks every address it has (a name with one private address among
 * public ones is refused: which one a connection gets is not ours to choose). The delivery then
 * connects to the address checked here, never resolving again (DNS rebinding).
 */
export async function checkDeliveryAddress(url: URL, allowed: BlockList, resolve: typeof lookup = lookup): Promise<AddressCheck> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let addresses: Array<{ address: string; family: number }>;
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await resolve(host, { all: true, verbatim: true });
    } catch (err) {
      return { ok: false, reason: `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? 'error'}` };
    }
  }
  const first = addresses[0];
  if (!first) return { ok: false, reason: `${host} has no address` };
  const refused = addresses.find((a) => !mayDeliverTo(a.address, allowed));
  if (refused) return { ok: false, reason: `${host} resolves to ${refused.address}, a private, loopback or link-local address not in WEBHOOK_ALLOWED_NETWORKS` };
  return { ok: true, address: first.address, family: first.family === 4 ? 4 : 6 };
}
