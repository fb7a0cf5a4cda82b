/* Extra test cases of the tasker's unit tests: args[0] resolution and AOT cache
   (test_tasker_module.c), the sandboxer-built argv (test_tasker_argv.c), container records and
   their reclaim (test_tasker_record.c). */
#ifndef KC_TEST_TASKER_MODULE_H
#define KC_TEST_TASKER_MODULE_H

#include <check.h>

TCase *kc_test_module_tcase (void);
TCase *kc_test_argv_tcase (void);
TCase *kc_test_record_tcase (void);

#endif
