package auditfile

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelcol-flipt/otelcol-flipt/exporter/auditfile/internal/logfile"
	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// Config is the audit_file exporter's configuration.
type Config struct {
	// Path of the active file; rotated files are written beside it.
	Path string `mapstructure:"path"`
	// Format of audit events: json (Flipt's log sink with encoding json),
	// console (its default console encoding) or webhook (webhook bodies).
	Format string `mapstructure:"format"`
	// OtherRecords is what happens to records that are not Flipt audit
	// events: write (a generic JSON line) or skip (counted).
	OtherRecords string `mapstructure:"other_records"`
	// FilePermissions is the octal mode of the file, its backups and chain.
	FilePermissions string `mapstructure:"file_permissions"`
	// FlushInterval is the period of buffered writes and of fsync: on_flush.
	FlushInterval time.Duration `mapstructure:"flush_interval"`
	// Fsync is never, on_flush or every_batch.
	Fsync string `mapstructure:"fsync"`
	// HashChain keeps a tamper-evident SHA-256 chain in <path>.sha256chain.
	HashChain bool           `mapstructure:"hash_chain"`
	Rotation  RotationConfig `mapstructure:"rotation"`
	// Merge writes an event that arrives from several sources (webhook,
	// file, trace) once.
	Merge MergeConfig `mapstructure:"merge"`

	TimeoutConfig exporterhelper.TimeoutConfig                             `mapstructure:",squash"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
	QueueConfig   configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
}

// RotationConfig says when the file is rotated and how long backups live.
type RotationConfig struct {
	// MaxMegabytes rotates before a batch would grow the file past this
	// size; 0 disables size rotation.
	MaxMegabytes int `mapstructure:"max_megabytes"`
	// Interval rotates on the first write of each interval, aligned to UTC
	// (24h: daily at midnight UTC); 0 disables it.
	Interval time.Duration `mapstructure:"interval"`
	// MaxBackups keeps at most this many rotated files; 0 keeps all.
	MaxBackups int `mapstructure:"max_backups"`
	// MaxAge deletes rotated files older than this; 0 keeps them.
	MaxAge time.Duration `mapstructure:"max_age"`
	// Compress gzips rotated files.
	Compress bool `mapstructure:"compress"`
}

var _ confmap.Validator = (*Config)(nil)

// Other-records policies.
const (
	otherWrite = "write"
	otherSkip  = "skip"
)

// Validate checks the configuration; every error names its field.
func (c *Config) Validate() error {
	var errs []error
	if c.Path == "" {
		errs = append(errs, errors.New("path: must be set"))
	} else if err := logfile.CheckPath(c.Path); err != nil {
		errs = append(errs, fmt.Errorf("path: %w", err))
	}
	if _, err := auditevent.ParseFormat(c.Format); err != nil {
		errs = append(errs, fmt.Errorf("format: %w", err))
	}
	if c.OtherRecords != otherWrite && c.OtherRecords != otherSkip {
		errs = append(errs, fmt.Errorf("other_records: %q is not write or skip", c.OtherRecords))
	}
	if _, err := c.perm(); err != nil {
		errs = append(errs, fmt.Errorf("file_permissions: %w", err))
	}
	sync, err := logfile.ParseSync(c.Fsync)
	if err != nil {
		errs = append(errs, fmt.Errorf("fsync: %w", err))
	}
	if c.FlushInterval < 0 {
		errs = append(errs, errors.New("flush_interval: must not be negative"))
	}
	if err == nil && sync == logfile.SyncOnFlush && c.FlushInterval <= 0 {
		errs = append(errs, errors.New("flush_interval: must be positive with fsync: on_flush"))
	}
	r := c.Rotation
	for _, f := range []struct {
		name string
		neg  bool
	}{
		{"rotation.max_megabytes", r.MaxMegabytes < 0},
		{"rotation.interval", r.Interval < 0},
		{"rotation.max_backups", r.MaxBackups < 0},
		{"rotation.max_age", r.MaxAge < 0},
	} {
		if f.neg {
			errs = append(errs, fmt.Errorf("%s: must not be negative", f.name))
		}
	}
	if r.Interval > 0 && r.Interval < time.Second {
		errs = append(errs, errors.New("rotation.interval: must be at least 1s"))
	}
	errs = append(errs, c.Merge.validate()...)
	return errors.Join(errs...)
}

// perm parses FilePermissions, an octal mode such as "0600".
func (c *Config) perm() (os.FileMode, error) {
	m, err := strconv.ParseUint(c.FilePermissions, 8, 32)
	if err != nil || m > 0o777 {
		return 0, fmt.Errorf("%q is not an octal mode like \"0600\"", c.FilePermissions)
	}
	if m&0o200 == 0 {
		return 0, fmt.Errorf("%q does not let the collector write the file", c.FilePermissions)
	}
	return os.FileMode(m), nil
}

// MergeConfig bounds the memory that recognises copies of one event.
type MergeConfig struct {
	// Window is how long after its first arrival an event is remembered;
	// 0 turns merging off.
	Window time.Duration `mapstructure:"window"`
	// MaxEntries caps the events remembered; the oldest are forgotten first.
	MaxEntries int `mapstructure:"max_entries"`
}

func (m MergeConfig) validate() []error {
	var errs []error
	if m.Window < 0 {
		errs = append(errs, errors.New("merge.window: must not be negative (0 turns merging off)"))
	}
	if m.Window > 0 && m.MaxEntries <= 0 {
		errs = append(errs, errors.New("merge.max_entries: must be positive while merge.window is set"))
	}
	return errs
}
