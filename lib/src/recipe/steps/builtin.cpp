#include "recipe/step_registry.hpp"
#include "recipe/steps/builtin_steps.hpp"

namespace pimint {

void register_builtin_steps() {
    steps::register_image();
    steps::register_ssh();
    steps::register_locale();
    steps::register_keyboard();
    steps::register_timezone();
    steps::register_wifi();
    steps::register_hostname();
    steps::register_user();
    steps::register_files();
    steps::register_firstboot();
    steps::register_network();
    steps::register_mpich();
    steps::register_packages();
    steps::register_cluster();
}

} // namespace pimint
