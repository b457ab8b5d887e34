/* imagexec.h - the pipeline's "image" executor (build + push per app). */
#ifndef HOIST_IMAGEXEC_H
#define HOIST_IMAGEXEC_H

/* Register the executor for image/<app> nodes; call once before planning. */
void hoist_image_executor_register(void);

#endif
