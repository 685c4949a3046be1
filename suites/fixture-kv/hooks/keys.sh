# Sourced by the hooks: the app's key API (`/cache/<key>`) through its domain, and the keys the
# backup must bring back.
keys_url="$CCCI_BASE_URL/cache"
put_key() { curl -fsS --max-time 10 -X PUT --data-binary "$2" "$keys_url/$1" >/dev/null; }
delete_key() { curl -fsS --max-time 10 -X DELETE "$keys_url/$1" >/dev/null; }
list_keys() { curl -fsS --max-time 10 "$keys_url"; }
# key=value each: what pre_backup writes.
backed_up="red=1 green=2 blue=3"
