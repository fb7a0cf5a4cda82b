/* Logging in logrus text format (what containerd's log readers expect): one line per event,
   time="…" level=… msg="…", to stderr (or the shim's log FIFO dup'ed onto it). */
#ifndef KC_LOG_H
#define KC_LOG_H

enum kc_log_level
{
  KC_LOG_ERROR = 0,
  KC_LOG_WARN = 1,
  KC_LOG_INFO = 2,
  KC_LOG_DEBUG = 3,
};

/* ident is added to each line as component=…; level is the most verbose level printed. */
void kc_log_init (const char *ident, int level);
/* Parses "error", "warn", "info", "debug" (and "trace" = debug); returns -1 when unknown. */
int kc_log_level_parse (const char *name);
void kc_log_set_level (int level);
int kc_log_get_level (void);
void kc_log (int level, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));

#define kc_log_error(...) kc_log (KC_LOG_ERROR, __VA_ARGS__)
#define kc_log_warn(...) kc_log (KC_LOG_WARN, __VA_ARGS__)
#define kc_log_info(...) kc_log (KC_LOG_INFO, __VA_ARGS__)
#define kc_log_debug(...) kc_log (KC_LOG_DEBUG, __VA_ARGS__)

#endif
