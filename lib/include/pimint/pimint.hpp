// The whole public API of libpimint.
#pragma once

#include "pimint/appliance.hpp"
#include "pimint/apply.hpp"
#include "pimint/classroom.hpp"
#include "pimint/cluster.hpp"
#include "pimint/error.hpp"
#include "pimint/files.hpp"
#include "pimint/image_fs.hpp"
#include "pimint/inspect.hpp"
#include "pimint/interrupt.hpp"
#include "pimint/partition_table.hpp"
#include "pimint/publish.hpp"
#include "pimint/recipe.hpp"
#include "pimint/step.hpp"
#include "pimint/version.hpp"
