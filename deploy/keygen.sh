#!/bin/sh
# One-shot key set-up for compose.yaml (the `keygen` service); safe to run on every `up`.
#
# scripts/keygen creates the three RSA pairs once in the master volume ($KEYS_DIR, only this service
# mounts it) and keeps them on later runs. Then each consumer gets exactly the halves it needs:
#   auth-keys     private.pem + the three public halves   (auth signs user tokens)
#   service-keys  service_private.pem + the three public halves   (transactions mints service tokens)
#   public-keys   the three public halves   (wallet, fraud, history only verify)
#   router-keys   router_private.pem   (the router signs its federation credential)
# so the user-token private key never reaches a process other than auth.
set -eu

keys="${KEYS_DIR:-/keys}"
export_dir="${KEYS_EXPORT_DIR:-/export}"

python -m scripts.keygen --keys-dir "$keys"

publish() {
    dest="$export_dir/$1"
    shift
    mkdir -p "$dest"
    # drop any key file this consumer is not meant to hold (e.g. left by an older layout)
    for existing in "$dest"/*.pem; do
        [ -e "$existing" ] || continue
        case " $* " in
            *" ${existing##*/} "*) ;;
            *) rm -f "$existing" ;;
        esac
    done
    for name in "$@"; do
        # copy beside, then rename: a running service never reads a half-written key file
        cp -p "$keys/$name" "$dest/.$name.tmp"
        mv -f "$dest/.$name.tmp" "$dest/$name"
    done
    echo "published to $dest: $*"
}

publish auth-keys private.pem public.pem service_public.pem router_public.pem
publish service-keys service_private.pem public.pem service_public.pem router_public.pem
publish public-keys public.pem service_public.pem router_public.pem
publish router-keys router_private.pem
