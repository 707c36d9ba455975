/// Carries out a state machine's actions in the order it returned them, even when carrying
/// one out feeds the machine again (a send that fails at once reports the failure from inside
/// the call; applying a description may stop the monitor or ask it for a check): the actions
/// of such a nested input queue behind the ones already decided instead of running first.
///
/// Loop-confined, like the monitors that own one.
final class ActionQueue<Action> {
    private var pending: [Action] = []
    private var head = 0
    private var running = false

    func run(_ actions: [Action], _ execute: (Action) -> Void) {
        pending += actions
        guard !running else { return }
        running = true
        defer {
            running = false
            pending.removeAll(keepingCapacity: true)
            head = 0
        }
        while head < pending.count {
            let action = pending[head]
            head += 1
            execute(action)
        }
    }
}
