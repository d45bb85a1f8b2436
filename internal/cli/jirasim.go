package cli

import (
	"context"
	"io"

	"github.com/vulnsync/vulnsync/internal/jirasim"
)

func runJirasim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return jirasim.Run(ctx, args, stdout, stderr)
}
