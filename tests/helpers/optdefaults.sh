# tests/helpers/optdefaults.sh: a tool's options and defaults from its
# --help, and its man page's option items; used by tests/help-man.bats.
#
#   help_defaults TOOL  "--option DEFAULT" per option its --help names
#                       (DEFAULT "-" when none is said): the first
#                       "default V" on the option's line or the lines that
#                       continue it
#   man_items PAGE      "--option<TAB>TEXT" per option of the .It items of
#                       PAGE's DESCRIPTION and OPTIONS: TEXT is the item's
#                       text up to the next .It, macros stripped

help_defaults() {
	"$1" --help | awk '
	function flush() {
		if (n == 0) return
		for (i = 1; i <= n; i++) print o[i], (d == "" ? "-" : d)
		n = 0; d = ""
	}
	{
		s = $0; sub(/^ +/, "", s)
		if (s ~ /^(-[a-zA-Z0-9], )?--[a-z]/) {
			flush()
			t = s
			while (match(t, /--[a-z][a-z0-9-]*/)) {
				o[++n] = substr(t, RSTART, RLENGTH)
				t = substr(t, RSTART + RLENGTH)
				if (t !~ /^( [A-Z]+)? *(\/|,) *(-[a-zA-Z0-9], )?--/)
					break
			}
		}
	}
	d == "" && n > 0 && match($0, /[Dd]efault:? [^ ,;)]+/) {
		d = substr($0, RSTART, RLENGTH); sub(/^[Dd]efault:? /, "", d)
	}
	END { flush() }' | sort -u
}

man_items() {
	awk '
	function flush() {
		if (n == 0) return
		for (i = 1; i <= n; i++) print o[i] "\t" text
		n = 0; text = ""
	}
	/^\.Sh/ { flush(); inopt = ($0 ~ /OPTIONS|DESCRIPTION/); next }
	/^\.It / {
		flush()
		if (!inopt) next
		t = $0
		while (match(t, /Fl Fl [a-z][a-z0-9-]*/)) {
			o[++n] = "--" substr(t, RSTART + 6, RLENGTH - 6)
			t = substr(t, RSTART + RLENGTH)
		}
		next
	}
	/^\.El/ { flush(); next }
	n > 0 {
		s = $0; gsub(/\\&/, "", s); gsub(/\\-/, "-", s)
		sub(/^\.[A-Z][a-z][a-z]? /, "", s)
		text = text " " s
	}
	END { flush() }' "$1"
}
