package filetail

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"go.opentelemetry.io/collector/component"

	"github.com/otelcol-flipt/otelcol-flipt/internal/auditevent"
)

// Values of Config.StartAt.
const (
	StartAtBeginning = "beginning"
	StartAtEnd       = "end"
)

// Config selects the files to tail and how.
type Config struct {
	// Include lists glob patterns (filepath.Match syntax, no "**") of the
	// files to tail. Required.
	Include []string `mapstructure:"include"`
	// Exclude lists glob patterns; a file matching one is not tailed.
	Exclude []string `mapstructure:"exclude"`
	// StartAt is where a file never seen before starts being read:
	// "beginning" (default) or "end". It applies only to files present at
	// the first poll of a tailer whose storage holds no checkpoint; files
	// that appear later are always read from their beginning.
	StartAt string `mapstructure:"start_at"`
	// PollInterval is how often the files are checked for new data.
	PollInterval time.Duration `mapstructure:"poll_interval"`
	// MaxBatchLines is the most lines read into one consume call.
	MaxBatchLines int `mapstructure:"max_batch_lines"`
	// MaxConcurrentFiles bounds the files held open at once. Beyond it the
	// least recently read file is closed, to be reopened by its path when
	// it grows, so the descriptors left to the rest of the collector (the
	// webhook's connections among them) do not depend on how many files
	// include matches.
	MaxConcurrentFiles int `mapstructure:"max_concurrent_files"`
	// MaxLineSize is the longest line decoded, in bytes, newline excluded;
	// a longer line is skipped without being held in memory. The default is
	// the largest event Flipt can write, as the webhook's body limit.
	MaxLineSize int `mapstructure:"max_line_size"`
	// Storage names a storage extension (e.g. file_storage) that keeps the
	// read position of each file across restarts. Without it a restart
	// reads the files again from the beginning (or skips to the end with
	// start_at: end).
	Storage *component.ID `mapstructure:"storage"`
}

// DefaultMaxConcurrentFiles leaves most of a 1024-descriptor limit to the
// rest of the collector.
const DefaultMaxConcurrentFiles = 256

// NewDefaultConfig returns the defaults: beginning, 200ms, 1000 lines of
// at most 32 MiB, 256 open files.
func NewDefaultConfig() Config {
	return Config{
		StartAt:            StartAtBeginning,
		PollInterval:       200 * time.Millisecond,
		MaxBatchLines:      1000,
		MaxLineSize:        auditevent.DefaultMaxEventSize,
		MaxConcurrentFiles: DefaultMaxConcurrentFiles,
	}
}

// Validate reports every invalid field, each error naming its field.
func (c *Config) Validate() error {
	var errs []error
	if len(c.Include) == 0 {
		errs = append(errs, errors.New("include: at least one glob pattern is required"))
	}
	errs = append(errs, checkPatterns("include", c.Include)...)
	errs = append(errs, checkPatterns("exclude", c.Exclude)...)
	switch c.StartAt {
	case StartAtBeginning, StartAtEnd, "":
	default:
		errs = append(errs, fmt.Errorf("start_at: %q is neither %q nor %q", c.StartAt, StartAtBeginning, StartAtEnd))
	}
	if c.PollInterval <= 0 {
		errs = append(errs, fmt.Errorf("poll_interval: must be positive, got %v", c.PollInterval))
	}
	if c.MaxBatchLines <= 0 {
		errs = append(errs, fmt.Errorf("max_batch_lines: must be positive, got %d", c.MaxBatchLines))
	}
	if c.MaxConcurrentFiles <= 0 {
		errs = append(errs, fmt.Errorf("max_concurrent_files: must be positive, got %d", c.MaxConcurrentFiles))
	}
	if c.MaxLineSize < 0 {
		errs = append(errs, fmt.Errorf("max_line_size: must not be negative, got %d", c.MaxLineSize))
	}
	return errors.Join(errs...)
}

func checkPatterns(field string, patterns []string) []error {
	var errs []error
	for i, p := range patterns {
		if p == "" {
			errs = append(errs, fmt.Errorf("%s[%d]: empty pattern", field, i))
			continue
		}
		if _, err := filepath.Match(p, ""); err != nil {
			errs = append(errs, fmt.Errorf("%s[%d]: invalid pattern %q: %w", field, i, p, err))
		}
	}
	return errs
}
