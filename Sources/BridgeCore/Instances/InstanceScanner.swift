// InstanceScanner: finds the instances in pipe_dir. Every `<name>.in.fifo`/`<name>.out.fifo`
// pair is an instance; half pairs, non-FIFO files and invalid names are listed as broken. In a
// pipe_dir other users could swap FIFOs in (FifoSafety.directoryTrust) every instance is broken.

import Foundation

public struct InstanceScan: Equatable, Sendable {
    public var instances: [InstanceInfo]
    /// Set when pipe_dir itself cannot be read (missing, not a directory, no permission).
    public var directoryError: String?
}

public enum InstanceScanner {
    public static let inSuffix = ".in.fifo"
    public static let outSuffix = ".out.fifo"

    public static func scan(_ directory: String, policy: PipePolicy = .strict) -> InstanceScan {
        let entries: [String]
        do {
            entries = try FileManager.default.contentsOfDirectory(atPath: directory)
        } catch {
            let reason = FileManager.default.fileExists(atPath: directory)
                ? "cannot read \(directory)" : "\(directory) does not exist"
            return InstanceScan(instances: [], directoryError: reason)
        }
        var instances = names(in: entries).sorted().map { describe(name: $0, in: directory, policy: policy) }
        do {
            try FifoSafety.checkDirectory(directory, policy: policy)
        } catch {
            for i in instances.indices where instances[i].isReady { instances[i].status = .broken(error.description) }
            return InstanceScan(instances: instances, directoryError: error.description)
        }
        return InstanceScan(instances: instances, directoryError: nil)
    }

    /// The instance names a directory's entries make (each `<name>.in.fifo` or `<name>.out.fifo`).
    public static func names(in entries: [String]) -> Set<String> {
        var names = Set<String>()
        for entry in entries {
            if entry.hasSuffix(inSuffix) { names.insert(String(entry.dropLast(inSuffix.count))) }
            else if entry.hasSuffix(outSuffix) { names.insert(String(entry.dropLast(outSuffix.count))) }
        }
        return names
    }

    /// The name an instance is listed under (`InstanceInfo.name`): an invalid one made printable.
    public static func listedName(_ name: String) -> String {
        InstanceName.problem(in: name) == nil ? name : displayName(name)
    }

    static func describe(name: String, in directory: String, policy: PipePolicy) -> InstanceInfo {
        let inPath = directory + "/" + name + inSuffix
        let outPath = directory + "/" + name + outSuffix
        if let problem = InstanceName.problem(in: name) {
            return InstanceInfo(name: listedName(name), inPath: inPath, outPath: outPath,
                                status: .broken("invalid name: \(problem)"))
        }
        var reasons: [String] = []
        for (label, path) in [("in", inPath), ("out", outPath)] {
            switch FifoSafety.inspect(path) {
            case .missing: reasons.append("\(label)-FIFO missing")
            case .symlink: reasons.append("\(label)-FIFO is a symlink")
            case .other(let kind): reasons.append("\(label)-FIFO is a \(kind), not a FIFO")
            case .fifo(let mode, let owner, _, _):
                do {
                    try FifoSafety.checkOwnerAndMode(path: path, mode: mode, owner: owner, policy: policy)
                } catch .foreignOwner(_, let uid) {
                    reasons.append("\(label)-FIFO owned by uid \(uid)")
                } catch .unsafeMode(_, let mode) {
                    reasons.append("\(label)-FIFO has unsafe mode \(String(mode, radix: 8))")
                } catch {
                    reasons.append("\(label)-FIFO: \(error)")
                }
            }
        }
        let status: InstanceStatus = reasons.isEmpty ? .ready : .broken(reasons.joined(separator: "; "))
        return InstanceInfo(name: name, inPath: inPath, outPath: outPath, status: status)
    }

    /// A name safe to print: control characters shown as `?`.
    public static func displayName(_ raw: String) -> String {
        String(String.UnicodeScalarView(raw.unicodeScalars.map {
            ($0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value)) ? "?" : $0
        }))
    }
}
