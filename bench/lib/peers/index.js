// Every peer, in measuring order (also the order of the tables and the chart).
import {docker} from './docker.js'
import {bwrap, contain, containDry, containHostView, containNoNet, direct, node, nodeSpawn, unshare, unshareCgroup} from './host.js'
import {crun, runc} from './oci.js'
import {podman} from './podman.js'

export const peers = [direct, node, nodeSpawn, containDry, contain, containHostView, containNoNet, unshare, unshareCgroup, bwrap, crun, runc, podman, docker]

/** Debian packages the peers need, plus hyperfine for the cross-check and busybox-static for the rootfs. */
export const debianPackages = ['bubblewrap', 'crun', 'runc', 'podman', 'docker.io', 'hyperfine', 'busybox-static']
