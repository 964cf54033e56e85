// The addresses a job's URL must never reach: loopback, private, link-local,
// CGNAT, unique-local, multicast, unspecified, reserved and documentation
// ranges, and the cloud metadata endpoints inside them (169.254.169.254,
// fd00:ec2::254, 100.100.100.200). IPv4-mapped IPv6 addresses are checked as
// the IPv4 address they carry (node's BlockList does that), NAT64 ones too.
import net from 'node:net';

const IPV4_RANGES: [string, number][] = [
  ['0.0.0.0', 8], // "this network", and 0.0.0.0 which connects to the host itself
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT; 100.100.100.200 is a metadata endpoint
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local; 169.254.169.254 is the metadata endpoint
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, and the broadcast address
];

const IPV6_RANGES: [string, number][] = [
  ['::', 96], // unspecified, loopback (::1) and the deprecated IPv4-compatible form
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments (Teredo among them)
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4: carries an IPv4 address we would have to trust blindly
  ['fc00::', 7], // unique-local; fd00:ec2::254 is a metadata endpoint
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
];

const blocked = new net.BlockList();
for (const [address, prefix] of IPV4_RANGES) blocked.addSubnet(address, prefix, 'ipv4');
for (const [address, prefix] of IPV6_RANGES) blocked.addSubnet(address, prefix, 'ipv6');

/** The eight 16-bit groups of an IPv6 address, an embedded dotted quad included. */
function groups(address: string): number[] {
  let text = address.toLowerCase();
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => parseInt(group, 16));
}

/** The IPv4 address a NAT64 address (64:ff9b::/96) stands for, if it is one. */
function nat64Target(address: string): string | undefined {
  const g = groups(address);
  if (g[0] !== 0x64 || g[1] !== 0xff9b || g.slice(2, 6).some((x) => x !== 0)) return undefined;
  return [g[6]! >> 8, g[6]! & 0xff, g[7]! >> 8, g[7]! & 0xff].join('.');
}

/** True for an address a job must not reach; anything that is not an IP address counts as blocked. */
export function isBlockedAddress(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, ''); // brackets and an IPv6 zone index
  const family = net.isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family !== 6) return true;
  const target = nat64Target(bare);
  return target ? blocked.check(target, 'ipv4') : blocked.check(bare, 'ipv6');
}
