package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	neturl "net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cloudflow/cloudflow/codec"
	"github.com/cloudflow/cloudflow/internal/input"
)

// defaultCodecListen is where the codec server listens unless told otherwise.
const defaultCodecListen = "127.0.0.1:8888"

// maxTokenFile caps --token-file: one token, never kilobytes.
const maxTokenFile = 4 << 10

type codecServerOptions struct {
	Listen      string
	AllowRemote bool
	CORSOrigins []string
	TokenFile   string
}

func newCodecServerCmd(f *factory) *cobra.Command {
	opts := &codecServerOptions{}
	cmd := &cobra.Command{
		Use:   "codec-server [--listen ADDR] [--cors-origin URL]... [--token-file FILE]",
		Short: "Serve the payload codec to the Temporal UI and CLI until Ctrl-C",
		Long: heredoc(`
			Serve the payload codec (the key in $CLOUDFLOW_PAYLOAD_KEY, named by
			$CLOUDFLOW_PAYLOAD_KEY_ID, as the worker has them) over Temporal's remote
			codec protocol, so that runs sealed with it read in clear in the Temporal
			UI and CLI, for those who hold the server's token:

			  temporal workflow show -w ID --codec-endpoint http://127.0.0.1:8888 \
			      --codec-auth "Bearer $(cat token)"

			The token comes from --token-file (- for stdin) or $CLOUDFLOW_CODEC_TOKEN:
			at least 16 characters, e.g. from 'openssl rand -base64 32'. The Temporal
			UI cannot send a token of its own, so a browser signs in once at the
			server's /login page, and the UI, with its codec setting "include
			cross-origin credentials" on, sends that session along. --cors-origin
			names the UI's origin (repeatable); pages of other origins are refused.

			It listens on loopback only unless --allow-remote: tokens and decoded
			payloads cross the network in clear over plain HTTP, so put a TLS proxy
			in front of a server other machines reach.`),
		Example: examples(`
			$ openssl rand -base64 32 > codec-token
			$ cloudflow codec-server --token-file codec-token --cors-origin http://localhost:8233
			$ temporal workflow show -w vm/web-1 --codec-endpoint http://127.0.0.1:8888 --codec-auth "Bearer $(cat codec-token)"`),
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := codecListen.check(opts.Listen, opts.AllowRemote); err != nil {
				return err
			}
			token, err := codecToken(opts.TokenFile, f.IO.In)
			if err != nil {
				return err
			}
			pc, err := codec.FromEnv(os.Getenv)
			if err != nil {
				return withCode(exitUsage, err)
			}
			if pc == nil {
				return usageErrorf("%s is not set: the codec server needs the key the worker seals payloads with", codec.EnvKey)
			}
			h, err := codec.NewHandler(pc, codec.ServerOptions{
				Token:          token,
				AllowedOrigins: opts.CORSOrigins,
				Logger:         slog.New(slog.NewTextHandler(f.IO.ErrOut, nil)),
			})
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("--cors-origin: %w", err))
			}
			ctx, stop := f.NotifyContext(cmd.Context())
			defer stop()
			ln, err := net.Listen("tcp", opts.Listen)
			if err != nil {
				return withCode(exitOther, err)
			}
			srv := &http.Server{
				Handler:           h,
				ReadHeaderTimeout: 10 * time.Second,
				ReadTimeout:       time.Minute,
				WriteTimeout:      time.Minute,
				IdleTimeout:       2 * time.Minute,
			}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()

			url := "http://" + reachableAddr(ln.Addr())
			out := f.IO.Out
			fmt.Fprintf(out, "Codec server listening on %s (key ID %q)\n", url, pc.KeyID())
			if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
				fmt.Fprintf(f.IO.ErrOut, "warning: the codec server listens on %s, beyond this machine: over plain HTTP, tokens and decoded payloads cross the network in clear; put a TLS proxy in front\n", ln.Addr())
			}
			writeCodecUsage(out, url, opts.CORSOrigins)
			fmt.Fprintln(out, "\nPress Ctrl-C to stop.")

			select {
			case err := <-served:
				return withCode(exitOther, err)
			case <-ctx.Done():
			}
			fmt.Fprintln(f.IO.ErrOut, "Stopping the codec server.")
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := srv.Shutdown(sctx); err != nil {
				return withCode(exitOther, err)
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.Listen, "listen", defaultCodecListen, "`address` to listen on, on this machine (port 0 picks a free one)")
	fl.BoolVar(&opts.AllowRemote, "allow-remote", false, "let --listen be an address other machines reach (use TLS in front of it)")
	fl.StringArrayVar(&opts.CORSOrigins, "cors-origin", nil, "web `origin` of the Temporal UI allowed to call the server, e.g. http://localhost:8080 (repeatable)")
	fl.StringVar(&opts.TokenFile, "token-file", "", "`file` holding the token clients must present, - for stdin (default: $"+codec.EnvServerToken+")")
	return cmd
}

// codecListen: the codec server hands out decoded payloads, and over plain
// HTTP its token and those payloads would cross the network in clear.
var codecListen = listenPolicy{
	example:  defaultCodecListen,
	exposure: "the codec server, over plain HTTP",
	remote:   "add --allow-remote with a TLS proxy in front",
}

// codecToken reads the server's token from path (- for stdin) or, when path
// is empty, from $CLOUDFLOW_CODEC_TOKEN. Surrounding white space (a file's
// final newline) is not part of it.
func codecToken(path string, stdin io.Reader) (string, error) {
	var token string
	if path != "" {
		name := "--token-file " + path
		data, err := input.ReadFile(path, stdin, name, maxTokenFile)
		switch {
		case input.IsTooLarge(err):
			return "", withCode(exitUsage, err)
		case errors.Is(err, fs.ErrNotExist):
			return "", usageErrorf("%s: no such file", name)
		case err != nil:
			return "", withCode(exitUsage, fmt.Errorf("%s: %w", name, err))
		}
		token = strings.TrimSpace(string(data))
	} else {
		token = strings.TrimSpace(os.Getenv(codec.EnvServerToken))
		if token == "" {
			return "", usageErrorf("the codec server needs a token: pass --token-file or set %s (make one with `openssl rand -base64 32`)", codec.EnvServerToken)
		}
	}
	if err := codec.CheckToken(token); err != nil {
		return "", withCode(exitUsage, err)
	}
	return token, nil
}

// reachableAddr is addr as this machine reaches it: an unspecified address
// (every interface) becomes loopback.
func reachableAddr(addr net.Addr) string {
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return addr.String()
	}
	if tcp.IP.IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", fmt.Sprint(tcp.Port))
	}
	return tcp.String()
}

// writeCodecUsage prints how the CLI and the UI reach the server; never the
// token.
func writeCodecUsage(w io.Writer, url string, origins []string) {
	fmt.Fprintln(w, "\nThe Temporal CLI decodes through it with:")
	fmt.Fprintf(w, "  temporal workflow show -w ID --codec-endpoint %s --codec-auth \"Bearer <token>\"\n", url)
	if len(origins) == 0 {
		fmt.Fprintln(w, "\nNo --cors-origin: no Temporal UI may call it.")
		return
	}
	fmt.Fprintln(w, "\nA Temporal UI decodes through it once its browser has signed in at <endpoint>/login, with")
	fmt.Fprintln(w, "its codec endpoint set and \"include cross-origin credentials\" on (the UI server's")
	fmt.Fprintln(w, "TEMPORAL_CODEC_ENDPOINT and TEMPORAL_CODEC_INCLUDE_CREDENTIALS=true):")
	for _, o := range origins {
		fmt.Fprintf(w, "  UI %s: endpoint %s\n", o, uiCodecEndpoint(o, url))
	}
}

// uiCodecEndpoint is the URL a UI at origin should call the server at, whose
// own URL is url: the UI's host name when both are on this machine, since a
// browser sends the sign-in cookie only within one site (localhost and
// 127.0.0.1 are two).
func uiCodecEndpoint(origin, url string) string {
	o, err := neturl.Parse(origin)
	if err != nil {
		return url
	}
	u, err := neturl.Parse(url)
	if err != nil {
		return url
	}
	ip := net.ParseIP(o.Hostname())
	if (o.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback())) || !net.ParseIP(u.Hostname()).IsLoopback() {
		return url
	}
	u.Host = net.JoinHostPort(o.Hostname(), u.Port())
	return u.String()
}
