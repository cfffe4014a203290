#!/bin/bash
# ffmpeg with its CPU time appended to $BENCH_FFMPEG_TIMES (bash's `times`: the second line is the
# children's user and system time), so the transcode benchmark measures ffmpeg, not Node.
"${BENCH_FFMPEG_REAL:-ffmpeg}" "$@"
rc=$?
# No pipe: `times` in a subshell would report the subshell. Two lines: this shell, its children.
times >> "${BENCH_FFMPEG_TIMES:-/dev/null}"
exit $rc
