// SessionSource: where the TUI's sessions come from. The runtime and the reducer do not know
// which: the in-process SessionHub with its HealthScheduler (LocalSessionSource, `--no-server`),
// or the server for the pipe directory over its socket (ServerSessionSource). Either way the
// TUI gets SessionEvents (turned into Actions by SessionActions), health reports and, from a
// server, notes about the connection. Loop thread only.

import BridgeCore

/// What a session source tells the runtime.
enum SessionSourceReport {
    case event(SessionEvent)
    case health(HealthReport)
    /// A line for the status bar (the server started, gone, back).
    case status(StatusMessage)
    /// A dim marker line in an instance's pane (output a restarted server could not give).
    case marker(instance: String, text: String)
    /// The remote hosts and how each one's connection stands (HostsSessionSource).
    case hosts([HostHeader])
}

protocol SessionSource: AnyObject {
    var onReport: (SessionSourceReport) -> Void { get set }
    /// Starts reading (or connects and takes the server's snapshot); throws when it cannot.
    func start() throws
    func stop()
    var currentInstances: [InstanceInfo] { get }
    /// Why the instance is not read here (another process reads it), or nil.
    func readerRefusal(of instance: String) -> String?
    var healthEnabled: Bool { get }
    func send(_ text: String, to instance: String, promptID: String)
    func cancelQueued(instance: String, id: String)
    func interrupt(_ instance: String)
    /// `done(false)`: that request no longer waits.
    func answerPermission(instance: String, requestID: String, behavior: PermissionBehavior, message: String,
                          done: @escaping (Bool) -> Void)
    func rescan()
    func checkHealth()
}

/// Today's in-process hub: this process reads every out-FIFO and writes the history.
final class LocalSessionSource: SessionSource {
    var onReport: (SessionSourceReport) -> Void = { _ in }
    private var hub: SessionHub!
    private var health: HealthScheduler?

    init(loop: EventLoop, options: TUIOptions, stateDirectory: String) {
        var hubOptions = SessionHub.Options(directory: options.config.pipeDirectory, stateDirectory: stateDirectory)
        hubOptions.engine.policy = options.policy
        hubOptions.engine.maxLineBytes = options.config.tui.maxLineBytes
        hubOptions.session = options.config.docker.session
        hubOptions.goneGrace = options.config.tui.goneGraceSeconds
        hub = SessionHub(loop: loop, options: hubOptions) { [unowned self] event in
            self.onReport(.event(event))
            // The agent went, came back or showed up: the health shown changes at once.
            self.health?.noteSessionEvent(event)
        }
        health = HealthScheduler.make(for: hub, config: options.config, configPath: options.configPath, policy: options.policy,
                                      environment: options.environment, managed: options.managedInstances)
        health?.onReport = { [unowned self] report in self.onReport(.health(report)) }
    }

    func start() throws {
        hub.start()
        health?.start()
    }

    func stop() {
        health?.stop()
        hub.stop()
    }

    var currentInstances: [InstanceInfo] { hub.currentInstances }
    func readerRefusal(of instance: String) -> String? { hub.readerRefusal(of: instance) }
    var healthEnabled: Bool { health != nil }
    func send(_ text: String, to instance: String, promptID: String) { hub.send(text, to: instance, promptID: promptID) }
    func cancelQueued(instance: String, id: String) { hub.cancelQueued(instance: instance, id: id) }
    func interrupt(_ instance: String) { hub.interrupt(instance) }
    func answerPermission(instance: String, requestID: String, behavior: PermissionBehavior, message: String,
                          done: @escaping (Bool) -> Void) {
        done(hub.answerPermission(instance: instance, requestID: requestID, behavior: behavior, message: message))
    }
    func rescan() { hub.rescan() }
    func checkHealth() { health?.checkNow() }
}
