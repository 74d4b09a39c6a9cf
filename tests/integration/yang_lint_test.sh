#!/usr/bin/env bash
# yang_lint_test: the YANG configuration model (yang/*.yang) and its examples.
#  1. yanglint accepts every module, alone and together, without warnings when the
#     modules are loaded in dependency order;
#  2. every module is YANG 1.1 with namespace urn:sipbox:yang:<module>, revision
#     2026-11-25, organization, contact and description;
#  3. every data node, typedef and enum has a description;
#  4. yang/examples/full.xml is a valid configuration (strict parsing, -t config);
#  5. every yang/examples/invalid/*.xml is refused, and the error names the rule it
#     breaks (table below). Every invalid file must be in the table and vice versa.
# Usage: yang_lint_test.sh [YANG_DIR]   (default: yang/ of this checkout)
# Exit 0 only if every check passes.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
yang_dir=$(cd "${1:-$here/../../yang}" && pwd)
yanglint=${YANGLINT:-yanglint}
revision=2026-11-25

# file in yang/examples/invalid -> substring the error must contain
declare -A expected=(
  [out-of-range-port.xml]='Value "70000" is out of type uint16 min/max bounds. (Data location "/sipbox-system:system/listeners/sip-port"'
  [rtp-port-below-range.xml]='Unsatisfied range - value "80" is out of the allowed range. (Data location "/sipbox-media:media/rtp-port-min"'
  [tls-port-equals-sip-port.xml]='tls-port must differ from sip-port'
  [http-port-equals-ws-port.xml]='http-port must differ from ws-port'
  [route-missing-trunk.xml]='Invalid leafref value "carrier-x" - no target instance "/rt:trunk/rt:name"'
  [failover-same-trunk.xml]='a failover-trunk must differ from the route'"'"'s trunk'
  [trunk-register-without-credentials.xml]='a trunk that registers needs username and password'
  [duplicate-extension.xml]='Unique data leaf(s) "extension" not satisfied'
  [user-missing-domain.xml]='Invalid leafref value "nowhere.example" - no target instance "/dom:domain/dom:name"'
  [user-without-ha1.xml]='a user needs ha1-md5 or ha1-sha256'
  [bad-ha1.xml]='(Data location "/sipbox-users:user[name='"'"'carol'"'"'][domain='"'"'example.com'"'"']/ha1-md5"'
  [rtp-port-range-reversed.xml]='rtp-port-min must be lower than rtp-port-max'
  [bad-admin-name.xml]='Unsatisfied pattern - "dave smith" does not conform to "[a-zA-Z0-9_.-]{1,64}"'
  [admin-without-password-hash.xml]='Mandatory node "password-hash" instance does not exist.'
  [admin-plaintext-password.xml]='Unsatisfied pattern - "hunter2" does not conform to "pbkdf2-sha256[$]'
  [account-unknown-user.xml]='account names a user that does not exist'
  [inbound-route-unknown-extension.xml]='inbound-route extension is not the extension of any user'
  [registrar-expires-order.xml]='min-expires <= default-expires <= max-expires'
  [rule-sid-mismatch.xml]='the rule text'"'"'s sid option differs from the rule'"'"'s sid key'
  [empty-rule.xml]='Unsatisfied pattern - "   " does not conform'
  [bad-whitelist-prefix.xml]='Invalid union value "192.0.2.300/24"'
)

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS: $1"; }
fail() { failed=$((failed + 1)); echo "FAIL: $1"; [ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/    /'; }

if ! command -v "$yanglint" >/dev/null 2>&1; then
  echo "yang_lint_test: yanglint not found (Debian package libyang2-tools)"
  echo "yang_lint_test: 0 passed, 1 failed"
  exit 1
fi

modules=("$yang_dir"/*.yang)
if [ ${#modules[@]} -eq 0 ] || [ ! -e "${modules[0]}" ]; then
  fail "no modules in $yang_dir"
  echo "yang_lint_test: $passed passed, $failed failed"
  exit 1
fi

# Dependency order: a module's imports before it, so no must/leafref into a module
# that is not implemented yet (libyang warns "check skipped" otherwise).
ordered=()
for m in sipbox-types sipbox-domains sipbox-users; do
  [ -e "$yang_dir/$m.yang" ] && ordered+=("$yang_dir/$m.yang")
done
for f in "${modules[@]}"; do
  case $(basename "$f" .yang) in sipbox-types | sipbox-domains | sipbox-users) ;; *) ordered+=("$f") ;; esac
done

# 1. Modules.
out=$("$yanglint" -p "$yang_dir" "${modules[@]}" 2>&1)
if [ $? -eq 0 ]; then pass "yanglint -p yang yang/*.yang"; else fail "yanglint -p yang yang/*.yang" "$out"; fi
out=$("$yanglint" -p "$yang_dir" "${ordered[@]}" 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then
  pass "yanglint, modules in dependency order: no errors, no warnings"
else
  fail "yanglint, modules in dependency order: no errors, no warnings" "$out"
fi
for f in "${modules[@]}"; do
  name=$(basename "$f" .yang)
  out=$("$yanglint" -Q -p "$yang_dir" "$f" 2>&1)
  if [ $? -eq 0 ]; then pass "module $name alone"; else fail "module $name alone" "$out"; fi
done

# 2. Header statements.
for f in "${modules[@]}"; do
  name=$(basename "$f" .yang)
  problems=""
  grep -q "^module $name {" "$f" || problems+="module name differs from file name; "
  grep -q 'yang-version 1\.1;' "$f" || problems+="not yang-version 1.1; "
  grep -q "namespace \"urn:sipbox:yang:$name\";" "$f" || problems+="namespace is not urn:sipbox:yang:$name; "
  grep -q "revision $revision" "$f" || problems+="no revision $revision; "
  for kw in organization contact description; do
    grep -q "^  $kw\b" "$f" || problems+="no module $kw; "
  done
  if [ -z "$problems" ]; then pass "header of $name"; else fail "header of $name" "$problems"; fi
done

# 3. Descriptions everywhere (from the YIN form of each module).
py=$(command -v python3 || true)
if [ -n "$py" ]; then
  for f in "${modules[@]}"; do
    name=$(basename "$f" .yang)
    missing=$("$yanglint" -Q -p "$yang_dir" -f yin "$f" 2>/dev/null | "$py" -c '
import sys, xml.etree.ElementTree as ET
Y = "{urn:ietf:params:xml:ns:yang:yin:1}"
need = {"container", "leaf", "leaf-list", "list", "typedef", "enum", "module"}
root = ET.fromstring(sys.stdin.read())
def walk(e, path):
    tag = e.tag[len(Y):] if e.tag.startswith(Y) else None
    here = path
    if tag in need:
        here = path + "/" + (e.get("name") or tag)
        if e.find(Y + "description") is None:
            print(here)
    for c in e:
        walk(c, here)
walk(root, "")
')
    if [ -z "$missing" ]; then pass "descriptions in $name"; else fail "descriptions in $name" "missing: $missing"; fi
  done
fi

# 4. The complete example.
full="$yang_dir/examples/full.xml"
out=$("$yanglint" -p "$yang_dir" -t config "${ordered[@]}" "$full" 2>&1)
if [ $? -eq 0 ] && [ -z "$out" ]; then pass "examples/full.xml is valid"; else fail "examples/full.xml is valid" "$out"; fi

# 5. Invalid examples.
declare -A seen=()
for f in "$yang_dir"/examples/invalid/*.xml; do
  [ -e "$f" ] || continue
  base=$(basename "$f")
  seen[$base]=1
  want=${expected[$base]:-}
  if [ -z "$want" ]; then
    fail "invalid/$base" "no expected message in the table of $(basename "$0")"
    continue
  fi
  out=$("$yanglint" -p "$yang_dir" -t config "${ordered[@]}" "$f" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then
    fail "invalid/$base is refused" "yanglint accepted it"
  elif [[ "$out" != *"$want"* ]]; then
    fail "invalid/$base is refused with: $want" "$out"
  else
    pass "invalid/$base is refused with: $want"
  fi
done
for base in "${!expected[@]}"; do
  [ -n "${seen[$base]:-}" ] || fail "invalid/$base exists" "listed in the table, but the file is missing"
done

echo "yang_lint_test: $passed passed, $failed failed"
[ $failed -eq 0 ]
