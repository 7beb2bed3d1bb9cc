// RemoteFailure: what went wrong with an ssh connection to a host, from ssh's standard error and
// exit status, as a typed IPCError with words a person can act on. ssh exits 255 for its own
// failures (and says which on standard error) and passes on the remote command's status
// otherwise: 127 is the remote shell's "command not found", 126 "not executable".
//
//   host_key_mismatch  "REMOTE HOST IDENTIFICATION HAS CHANGED" / "Host key for H has changed"
//   host_key_unknown   "Host key verification failed" with no recorded key (batch mode cannot ask)
//   auth_refused       "Permission denied (publickey,...)", "Too many authentication failures"
//   host_unreachable   "Could not resolve hostname", "Connection refused", "timed out", "No route to host", ...
//   remote_missing     exit 127 / 126
//   disconnected       anything else, with ssh's last line of standard error
//
// Public API: RemoteFailure.classify(stderr:, exit:) -> IPCError?

import Foundation

public enum RemoteFailure {
    @Sendable public static func classify(_ stderr: String, _ exit: IPCChildExit?) -> IPCError? {
        let lines = stderr.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        func has(_ text: String) -> Bool { stderr.range(of: text, options: .caseInsensitive) != nil }
        func line(containing text: String) -> String {
            lines.last { $0.range(of: text, options: .caseInsensitive) != nil } ?? text
        }
        if has("REMOTE HOST IDENTIFICATION HAS CHANGED") || has("has changed and you have requested strict checking") {
            let where_ = lines.first { $0.hasPrefix("Offending") }.map { " (\($0))" } ?? ""
            return IPCError(.hostKeyMismatch, "host key mismatch: the host's key is not the one recorded in known_hosts\(where_); "
                + "refused (it may be an impostor). If the host was reinstalled, remove the old key with `ssh-keygen -R HOST` and connect once by hand")
        }
        if has("Host key verification failed") || has("No matching host key") {
            return IPCError(.hostKeyUnknown, "the host's key is not known here and batch mode cannot ask: "
                + "connect once with `ssh` to check and accept it (\(line(containing: "host key")))")
        }
        if has("Permission denied") || has("Too many authentication failures") || has("no more authentication methods") {
            return IPCError(.authRefused, "authentication refused (\(line(containing: "denied"))): "
                + "check the user name, that your key is loaded (ssh-agent) or named in ~/.ssh/config, and the host's authorized_keys")
        }
        for marker in ["Could not resolve hostname", "Connection refused", "Connection timed out", "Operation timed out",
                       "No route to host", "Network is unreachable", "connect to host", "Connection closed by",
                       "Connection reset by", "banner exchange"] where has(marker) {
            return IPCError(.hostUnreachable, "host unreachable (\(line(containing: marker)))")
        }
        switch exit {
        case .exited(127)?:
            return IPCError(.remoteMissing, "cc-bridge-tui is not installed on the remote host (the remote shell did not find it: "
                + "\(lines.last ?? "exit status 127")); install it there, in a directory on the PATH of non-interactive ssh sessions")
        case .exited(126)?:
            return IPCError(.remoteMissing, "cc-bridge-tui on the remote host cannot be run (\(lines.last ?? "exit status 126"))")
        default:
            break
        }
        guard let last = lines.last else { return nil }
        return IPCError(.disconnected, "the connection ended (\(exit.map { "\($0)" } ?? "ssh still running")): \(last)")
    }
}
