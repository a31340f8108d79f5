// Package filetail tails the files written by Flipt's audit `log` sink
// (json or the default console encoding, one event per line) and turns each
// line into an audit log record with auditevent.DecodeRecord, adding the
// log.file.path and log.file.name attributes.
//
// Files are found and read by polling every poll_interval, not with
// fsnotify: it is simple, works on every file system (including network
// and container mounts) and costs one stat per file per poll.
//
// Descriptors. Finding a file opens nothing: a file is opened when stat
// shows it changed (or when it is first seen, to check its start), and
// stays open while it is among the max_concurrent_files most recently
// read. Beyond that the least recently read file that include still finds
// is closed, to be reopened by its path when it changes; a file rotated
// away is never closed that way, since its descriptor is the only way left
// to read it. So the tailer never holds more than max_concurrent_files
// descriptors however many files include matches, and the rest of the
// process (the webhook's connections) keeps its own. When include matches
// more files than the bound, one warning says so.
//
// Identity. A file is known by its device and inode, so a renamed file is
// still the same file, plus a SHA-256 fingerprint of its first bytes (up to
// 1 KiB, extended as a young file grows). The fingerprint tells a new file
// that reuses a deleted file's inode from the old one, and shows when a
// file was truncated and rewritten. On non-Unix systems the path stands in
// for the inode.
//
// Checkpoints. With a storage extension, the tailer stores for each file
// its identity, path, read offset and line count, each file under its own
// key (a slot, with an index of how many slots exist), so a save writes
// the files that changed and nothing else, in one storage batch.
// Checkpoints of the earlier single-value layout are read once and
// replaced. A checkpoint only ever covers lines the consumer accepted (or
// skipped lines): it is saved after the consumer returned nil for a batch. A refused batch is read again at
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
// only for renamed files that still match include, and so is rotation of
// a file the pool had closed (more files than max_concurrent_files): the
// lines such a file received before it was renamed out of include, and
// not yet read, are not found again. Include the rotated names (e.g.
// `audit.log*`) to have them read.
//
// Lines. Only complete lines are decoded: a last line without its newline
// waits for it, and at Shutdown stays unread, to be resumed after a restart.
// Line numbers are 1-based and kept in the checkpoint. A line that is not
// an audit event, is malformed JSON, or is longer than Config.MaxLineSize (skipped
// without being buffered) is passed to onSkip with its path and line number
// and skipped; empty lines are ignored. Nothing is logged per line: the
// caller counts skips.
package filetail
