// Ctrl-C and SIGTERM: the first one makes pimint stop at its next checkpoint (between
// copies, steps and nodes) by throwing Error(interrupted), so destructors remove every
// temporary file and no output appears under its final name half-written. Child
// processes (the appliance, make) get the signal too and stop. A second signal ends the
// process at once.
#pragma once

namespace pimint {

void install_interrupt_handlers();
bool interrupt_requested() noexcept;
// Throws Error(interrupted) when a signal has arrived.
void check_interrupted();

} // namespace pimint
