// The whole public API of libpimint.
#pragma once

#include "pimint/cards/burn.hpp"
#include "pimint/cluster/classroom.hpp"
#include "pimint/cluster/cluster.hpp"
#include "pimint/core/error.hpp"
#include "pimint/core/files.hpp"
#include "pimint/core/interrupt.hpp"
#include "pimint/core/version.hpp"
#include "pimint/image/appliance.hpp"
#include "pimint/image/image_fs.hpp"
#include "pimint/image/inspect.hpp"
#include "pimint/image/partition_table.hpp"
#include "pimint/publish/publish.hpp"
#include "pimint/recipe/apply.hpp"
#include "pimint/recipe/recipe.hpp"
#include "pimint/recipe/step.hpp"
