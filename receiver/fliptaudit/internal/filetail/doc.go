// Package filetail tails the files written by Flipt's audit `log` sink
// (json or the default console encoding, one event per line) and turns each
// line into an audit log record with auditevent.DecodeRecord, adding the
// log.file.path and log.file.name attributes.
//
// Files are found and read by polling every poll_interval, not with
// fsnotify: it is simple, works on every file system (including network
// and container mounts) and costs one stat per file per poll.
//
// Identity. A file is known by its device and inode, so a renamed file is
// still the same file, plus a SHA-256 fingerprint of its first bytes (up to
// 1 KiB, extended as a young file grows). The fingerprint tells a new file
// that reuses a deleted file's inode from the old one, and shows when a
// file was truncated and rewritten. On non-Unix systems the path stands in
// for the inode.
//
// Checkpoints. With a storage extension, the tailer stores for each file
// its identity, path, read offset and line count. A checkpoint only ever
// covers lines the consumer accepted (or skipped lines): it is saved after
// the consumer returned nil for a batch. A refused batch is read again at
// the next poll, with a back-off doubling from poll_interval up to 5 s,
// so nothing is lost and nothing is skipped. After a clean Shutdown a
// restart resumes exactly where the previous run stopped: every line is
// delivered exactly once. If the process dies after the consumer accepted
// a batch but before its checkpoint was saved, that batch is read again:
// delivery is at least once. Without storage a restart reads the files from
// the beginning again (or skips to their end with start_at: end).
//
// start_at: end applies only to files present at the first poll when the
// storage holds no checkpoint at all; files that appear later, and files
// that appeared while a checkpointed collector was down, are read from the
// beginning, so rotation loses nothing.
//
// Rotation. Rename-and-create: the renamed file is still tracked by its
// inode through the open descriptor and read to its end, even if it no
// longer matches include, since its writer may go on writing to it until it
// reopens its log; it is forgotten once it has been missing and idle for a
// minute (an unterminated last line is then reported as ErrTornLine). The
// new file is read from its beginning. Copy-truncate: a file shorter than
// the offset read, or whose first bytes changed, is read again from the
// start and a warning is logged; exclude the copies (e.g. `*.log.1`) so
// they are not read twice. Rotation while the collector is down is followed
// only for renamed files that still match include.
//
// Lines. Only complete lines are decoded: a last line without its newline
// waits for it, and at Shutdown stays unread, to be resumed after a restart.
// Line numbers are 1-based and kept in the checkpoint. A line that is not
// an audit event, is malformed JSON, or is longer than Config.MaxLineSize (skipped
// without being buffered) is passed to onSkip with its path and line number
// and skipped; empty lines are ignored. Nothing is logged per line: the
// caller counts skips.
package filetail
