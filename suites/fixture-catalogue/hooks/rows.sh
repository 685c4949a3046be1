# Sourced by the hooks: the app's row API (`/rows/<key>`) through its domain, and the rows the
# backup must bring back.
rows_url="$CCCI_BASE_URL/rows"
put_row() { curl -fsS --max-time 10 -X PUT --data-binary "$2" "$rows_url/$1" >/dev/null; }
delete_row() { curl -fsS --max-time 10 -X DELETE "$rows_url/$1" >/dev/null; }
list_rows() { curl -fsS --max-time 10 "$rows_url"; }
# key=value each: what pre_backup writes.
backed_up="alpha=one beta=two gamma=three"
