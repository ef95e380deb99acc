export const USAGE = `ovl — container image layers on overlayfs, aufs or plain directories

usage: ovl <command> [options]

commands:
  unpack IMAGE                 unpack an image's layers into the store (shared layers reused); prints the top layer ID
  mount IMAGE|LAYER TARGET     mount an image (or a layer) at TARGET, read-only; --rw gives it its own upper layer
  umount TARGET                unmount what ovl mounted at TARGET
  flatten IMAGE DIR            the image's root filesystem in a plain directory (no mount, no root needed)
  diff LAYER                   the layer's changes as a tar on stdout (ovl diff L > layer.tar)
  commit TARGET                the changes of a --rw mount as a new layer; --oci DIR also writes an OCI image
  changes LAYER                the paths a layer adds, modifies and deletes
  ls                           the layers in the store; --tree draws the layer graph
  rm LAYER                     remove a layer (refused while other layers build on it or it is mounted)
  status                       the driver's status
  inspect IMAGE                the image's layers: chain IDs, digests, compression, sizes

IMAGE is an OCI image layout (directory or tar) or a \`docker save\` archive.

options:
  --store DIR          the layer store (default: $OVL_STORE, else /var/lib/ovl as root, else ~/.local/share/ovl)
  --driver NAME        overlay, aufs, vfs or auto (default: $OVL_DRIVER, else auto)
  --platform OS/ARCH   which image of a multi-platform index (default: this machine's)
  --rw                 (mount) a read-write mount with its own upper layer
  --oci DIR            (commit) also write an OCI image layout to DIR
  --ref NAME           (commit) the ref name of the committed image in DIR's index.json
  --tree               (ls) draw the layer graph
  --json               machine-readable output on stdout; progress as JSON lines on stderr
  --quiet, -q          no progress output
  --help, -h           this text

exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 permission (run as root), 5 not supported by this
kernel or file system, 6 bad image (digest, DiffID, missing blob, truncated layer, media type), 7 hostile
or corrupt layer tar.
`;
