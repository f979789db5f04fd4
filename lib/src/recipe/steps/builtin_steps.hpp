// Registration functions of pimint's own steps, one per file in this directory.
#pragma once

namespace pimint::steps {

void register_image();
void register_ssh();
void register_locale();
void register_keyboard();
void register_timezone();
void register_wifi();
void register_hostname();
void register_user();
void register_files();
void register_firstboot();
void register_network();
void register_mpich();
void register_packages();
void register_cluster();

} // namespace pimint::steps
