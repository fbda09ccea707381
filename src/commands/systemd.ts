import {systemdUnit} from '../systemd/generate.js'
import {booleanFlag, textFlag, type Handler} from './spec.js'

const systemd: Handler = async (input, io) => {
  const user = booleanFlag(input, 'user')
  const unit = await systemdUnit({
    cwd: process.cwd(),
    file: textFlag(input, 'file'),
    apps: [...input.rest],
    user,
    output: textFlag(input, 'output'),
    socketUnits: booleanFlag(input, 'socket-units'),
  })
  const systemctl = `systemctl${user ? ' --user' : ''}`
  const units = [unit.socket?.name, unit.name].filter(Boolean).join(' ')
  if (unit.file === undefined) {
    io.stdout(unit.text.trimEnd())
    if (unit.socket) io.stdout(`\n# ---- ${unit.socket.name} ----\n${unit.socket.text.trimEnd()}`)
  } else
    io.stdout(
      `contain: wrote ${[unit.socketFile, unit.file].filter(Boolean).join(' and ')}; start it with: ${systemctl} daemon-reload && ${systemctl} enable --now ${units}`,
    )
  return undefined
}
export default systemd
