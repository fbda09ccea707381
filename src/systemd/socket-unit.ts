/**
 * The .socket unit `contain systemd --socket-units` writes beside the service: systemd binds the
 * apps' listen: addresses and passes them to the service (same name), and contain passes them on to
 * the apps (launch/inherited-sockets.ts) instead of binding them itself. The ports then stay open
 * while contain itself restarts or the unit is reloaded: connections wait in the queue.
 */
import type {Project} from '../config/project.js'
import {ContainError} from '../errors.js'
import {LISTEN_BACKLOG, type ListenAddress} from '../launch/listen-address.js'

/** The listen: addresses of the unit's apps, in the apps' order, each once. */
export function unitListenAddresses(project: Project, apps: readonly string[]): ListenAddress[] {
  const addresses: ListenAddress[] = []
  for (const app of project.apps.filter(candidate => apps.includes(candidate.name))) {
    for (const address of app.options.listen) {
      const twice = addresses.find(seen => seen.text === address.text)
      if (twice)
        throw new ContainError(`${address.text} is in listen: of two apps of the unit`, {fix: 'give each app its own address: one socket serves one app'})
      addresses.push(address)
    }
  }
  return addresses
}

/** ListenStream= as systemd reads it: IP:PORT, [IPv6]:PORT or an absolute path (% doubled: a specifier). */
export function listenStream(address: ListenAddress): string {
  const value = address.kind === 'unix' ? address.path : address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
  if (/[\n\r]/.test(value))
    throw new ContainError(`listen ${JSON.stringify(value)} holds a line break, which a unit file cannot`, {fix: 'use a path without line breaks'})
  return value.replace(/%/g, '%%')
}

/**
 * contain-PROJECT[-APP].socket for `serviceName`, or undefined when its apps listen on nothing.
 * The settings are those contain uses when it binds: IPv6 addresses only IPv6, unix sockets 0666
 * and removed when the socket unit stops, the same backlog.
 */
export function renderSocketUnit(project: Project, apps: readonly string[], serviceName: string, command: string): {name: string; text: string} | undefined {
  const addresses = unitListenAddresses(project, apps)
  if (addresses.length === 0) return undefined
  const name = serviceName.replace(/\.service$/, '.socket')
  const lines = [
    `# ${name}: the listen: sockets of ${apps.join(', ')} of ${project.file}, held by systemd for ${serviceName}.`,
    `# Written by \`${command}\` beside the service; install and enable both (systemctl enable --now ${name} ${serviceName}).`,
    '#',
    '# systemd binds these addresses when the socket unit starts and passes them to the service (same',
    '# name) as LISTEN_FDS; contain matches each to its app by the address the kernel reports and passes',
    '# it on, as it passes the sockets it binds itself. Because systemd holds them, a port stays open',
    '# while contain itself restarts or systemctl reload recreates an app: connections wait in the',
    '# queue (Backlog=) until an app accepts them, none is refused.',
    '',
    '[Unit]',
    `Description=contain: sockets of ${apps.join(', ')} of ${project.name.replace(/%/g, '%%')}`,
    '',
    '[Socket]',
    ...addresses.map(address => `ListenStream=${listenStream(address)}`),
    "# As contain binds: [::1]:3000 is that address alone, not also 127.0.0.1's.",
    'BindIPv6Only=ipv6-only',
    `Backlog=${LISTEN_BACKLOG}`,
    '# A unix socket: any local user may connect (its directory decides who reaches it), removed on stop.',
    'SocketMode=0666',
    'RemoveOnStop=yes',
    // One name for every socket of the unit (systemd's rule): meaningful only when there is one.
    ...(addresses.length === 1 ? [`FileDescriptorName=${addresses[0].name}`] : []),
    '',
    '[Install]',
    'WantedBy=sockets.target',
    '',
  ]
  return {name, text: lines.join('\n')}
}
