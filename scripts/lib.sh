# Shell helpers shared by the scripts here; source it after defining die().

# free_port prints a loopback port nothing listens on (others run tests on
# this machine too).
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 40000))
		(echo >"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
	die "no free port found"
}
