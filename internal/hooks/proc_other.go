//go:build !unix

package hooks

import "os/exec"

// killGroupOnCancel keeps exec's default on systems without process groups:
// the command itself is killed when the context ends.
func killGroupOnCancel(*exec.Cmd) {}
