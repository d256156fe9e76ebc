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

# settle_disk writes out what the builds just left dirty before anything is
# measured. A rebuilt bin/sovereign is ~100 MB of dirty pages; their writeback
# stalled the audit journal's fdatasync for 50-270 ms (ext4 orders file data
# before the metadata a commit carries), which the first run after a build
# measured as the server's latency.
settle_disk() {
	sync
}
