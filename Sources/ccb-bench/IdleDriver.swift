// IdleDriver: what sets the price of waking a process on another CPU, for the wake-floor rows:
// the cpuidle driver and governor and, under the `haltpoll` governor (KVM guests), how long an
// idle vCPU polls before it halts (`guest_halt_poll_ns`). A halted vCPU needs an IPI and a VM
// exit to wake; one that polls sees the wake-up at once (docs/performance.md). Read from sysfs;
// "" where there is no cpuidle.

import Foundation

enum IdleDriver {
    static var description: String {
        func read(_ path: String) -> String? {
            (try? String(contentsOfFile: path, encoding: .utf8)).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        let cpuidle = "/sys/devices/system/cpu/cpuidle/"
        guard let driver = read(cpuidle + "current_driver") else { return "" }
        let governor = read(cpuidle + "current_governor_ro") ?? read(cpuidle + "current_governor")
        var text = "; idle driver \(driver)"
        if let governor, governor != driver { text += ", governor \(governor)" }
        // The parameter exists wherever the governor is built in; it means something only in use.
        if governor == "haltpoll", let poll = read("/sys/module/haltpoll/parameters/guest_halt_poll_ns") {
            text += ", guest_halt_poll_ns \(poll)"
        }
        return text
    }
}
